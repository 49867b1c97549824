/**
 * mlgrid's artifact store below a workspace (extension routes):
 *   PUT    …/artifactUploads/{upload}/files/{path…}   stream one file in (any content type, its own size limit)
 *   GET    …/artifactUploads/{upload}                 the files so far
 *   POST   …/artifactUploads/{upload}/commit          seal: the artifact `mlgrid://artifacts/<sha256>`
 *   DELETE …/artifactUploads/{upload}                 abandon
 *   GET    …/artifacts, …/artifacts/{sha256}          list, manifest
 *   GET    …/artifacts/{sha256}/files/{path…}         download
 *   DELETE …/artifacts/{sha256}                       unless a model version uses it
 * Bodies are streams here: the app's 1 MB JSON limit does not apply, the store's per-file limit does.
 */
import { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { expectedSha256, parseFilePath, type Manifest } from '../core/artifact.js';
import { workspaceId, type WorkspaceRef } from '../core/ml-events.js';
import type { ArtifactService } from '../services/artifacts.js';
import type { AppDeps } from './app.js';
import { authorizeArm, rawTail, workspaceOf, WS_ROUTE } from './ext-routes.js';

/** `subscriptions/{s}/resourceGroups/{rg}/providers/{ns}/workspaces/{ws}/<kind>/{id}/files`: 11 segments. */
const FILES_PREFIX_SEGMENTS = 11;

export function registerArtifactRoutes(
  app: FastifyInstance,
  deps: AppDeps,
  artifacts: ArtifactService,
): void {
  app.register(async (scoped) => {
    // The body reaches the handler as the request stream, whatever its type, unread and unbuffered.
    scoped.removeAllContentTypeParsers();
    scoped.addContentTypeParser('*', (_req, payload, done) => done(null, payload));

    const guard = async (req: FastifyRequest): Promise<WorkspaceRef> => {
      const ws = workspaceOf(req);
      await authorizeArm(req, deps);
      return ws;
    };
    const uploads = `${WS_ROUTE}/artifactUploads/:upload`;
    const one = `${WS_ROUTE}/artifacts/:sha`;
    type Upload = { Params: { upload: string } };
    type One = { Params: { sha: string } };

    scoped.put<Upload>(`${uploads}/files/*`, async (req, reply) => {
      const body = req.body instanceof Readable ? req.body : Readable.from([]);
      try {
        const ws = await guard(req);
        const path = parseFilePath(rawTail(req.url, FILES_PREFIX_SEGMENTS));
        const sha256 = expectedSha256(req.headers);
        const length = Number(req.headers['content-length']);
        const file = await artifacts.putFile(ws, req.params.upload, path, body, {
          ...(sha256 !== undefined ? { sha256 } : {}),
          ...(Number.isSafeInteger(length) ? { contentLength: length } : {}),
        });
        return reply.code(201).send(file);
      } catch (err) {
        // Refused before or while reading: the rest of the body must not linger on a kept-alive connection.
        if (!body.readableEnded) void reply.header('connection', 'close');
        throw err;
      }
    });
    scoped.get<Upload>(uploads, async (req) => artifacts.getUpload(await guard(req), req.params.upload));
    scoped.post<Upload>(`${uploads}/commit`, async (req, reply) => {
      const ws = await guard(req);
      const { created, manifest } = await artifacts.commit(ws, req.params.upload);
      return reply.code(created ? 201 : 200).send(render(ws, manifest));
    });
    scoped.delete<Upload>(uploads, async (req, reply) => {
      const gone = await artifacts.deleteUpload(await guard(req), req.params.upload);
      return reply.code(gone ? 200 : 204).send();
    });

    scoped.get(`${WS_ROUTE}/artifacts`, async (req) => {
      const ws = await guard(req);
      return {
        value: (await artifacts.list(ws)).map((m) => {
          const { files, ...rest } = render(ws, m);
          return { ...rest, fileCount: files.length };
        }),
      };
    });
    scoped.get<One>(one, async (req) => {
      const ws = await guard(req);
      return render(ws, await artifacts.get(ws, req.params.sha));
    });
    scoped.delete<One>(one, async (req, reply) => {
      const gone = await artifacts.delete(await guard(req), req.params.sha);
      return reply.code(gone ? 200 : 204).send();
    });
    scoped.get<One>(`${one}/files/*`, async (req, reply) =>
      download(req, reply, artifacts, await guard(req)),
    );
  });
}

async function download(
  req: FastifyRequest<{ Params: { sha: string } }>,
  reply: FastifyReply,
  artifacts: ArtifactService,
  ws: WorkspaceRef,
) {
  const path = parseFilePath(rawTail(req.url, FILES_PREFIX_SEGMENTS));
  const { file, body } = await artifacts.open(ws, req.params.sha, path);
  const b64 = Buffer.from(file.sha256, 'hex').toString('base64');
  return reply
    .type('application/octet-stream')
    .header('content-length', String(file.size))
    .header('x-ms-content-sha256', b64)
    .header('content-digest', `sha-256=:${b64}:`)
    .header('etag', `"${file.sha256}"`)
    .send(body);
}

function render(ws: WorkspaceRef, m: Manifest) {
  return {
    id: `${workspaceId(ws)}/artifacts/${m.sha256}`,
    name: m.sha256,
    uri: m.uri,
    sha256: m.sha256,
    size: m.size,
    createdAt: m.createdAt,
    files: m.files,
  };
}
