/**
 * The artifact store on disk, per workspace: `<dir>/<workspace GUID>/uploads/<upload id>/` while files arrive,
 * `<dir>/<workspace GUID>/<sha256>/{manifest.json, files/…}` once committed. Files are streamed to a temporary
 * file (SHA-256 computed on the way, never buffered), checked, fsynced and renamed into place; a commit seals
 * the upload by renaming its folder to its manifest's digest, so an artifact is complete or absent.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, type ReadStream } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  buildManifest,
  parseArtifactId,
  parseUploadId,
  pathClash,
  type ArtifactFile,
  type Manifest,
} from '../core/artifact.js';
import { invalid, MlgridError, notFound } from '../core/errors.js';
import { workspaceId, type WorkspaceRef } from '../core/ml-events.js';
import type { ModelVersionSpec } from '../core/model.js';
import type { Store, WorkspaceRecord } from '../store/types.js';
import { requireWorkspace } from './require-workspace.js';

export interface ArtifactsConfig {
  /** Root of the store (default `<data dir>/artifacts`); nodes sharing a PostgreSQL store share it too. */
  dir: string;
  /** Per file. */
  maxFileBytes: number;
}

/** Uploads left unfinished this long are removed (checked when a new upload starts in the workspace). */
const STALE_UPLOAD_MS = 24 * 3600_000;

export class ArtifactService {
  private readonly lastSweep = new Map<string, number>();

  constructor(
    private readonly store: Store,
    readonly cfg: ArtifactsConfig,
    private readonly now: () => Date = () => new Date(),
  ) {}

  /** Streams one file into an upload; a retried PUT of the same path replaces it. */
  async putFile(
    ref: WorkspaceRef,
    uploadId: string,
    path: string,
    body: Readable,
    opts: { contentLength?: number; sha256?: { hex: string; header: string } },
  ): Promise<ArtifactFile> {
    const ws = await requireWorkspace(this.store, ref);
    const dir = this.uploadDir(ws, parseUploadId(uploadId));
    const max = this.cfg.maxFileBytes;
    if (opts.contentLength !== undefined && opts.contentLength > max) throw tooLarge(max);
    if (!(await exists(dir))) await this.sweep(ws);
    await mkdir(join(dir, 'meta'), { recursive: true });
    const tmp = join(dir, `.tmp-${randomBytes(8).toString('hex')}`);
    try {
      const hash = createHash('sha256');
      let size = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          size += chunk.length;
          if (size > max) return done(tooLarge(max));
          hash.update(chunk);
          done(null, chunk);
        },
      });
      await pipeline(body, meter, createWriteStream(tmp, { flags: 'wx' }));
      const sha256 = hash.digest('hex');
      const want = opts.sha256;
      if (want !== undefined && want.hex !== sha256) {
        throw invalid(want.header, `the body's SHA-256 is ${sha256}, not ${want.hex}; nothing was kept`);
      }
      const clash = pathClash(
        (await this.staged(dir)).map((f) => f.path),
        path,
      );
      if (clash !== undefined) {
        throw new MlgridError('Conflict', `'${path}' and '${clash}' cannot both be files.`, 'path');
      }
      await fsync(tmp);
      const target = join(dir, 'files', ...path.split('/'));
      await mkdir(dirname(target), { recursive: true });
      await rename(tmp, target);
      const file: ArtifactFile = { path, size, sha256 };
      const meta = join(dir, 'meta', `${pathKey(path)}.json`);
      await writeFile(`${meta}.tmp`, JSON.stringify(file));
      await rename(`${meta}.tmp`, meta);
      return file;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** The files of an upload so far (to resume one). */
  async getUpload(ref: WorkspaceRef, uploadId: string): Promise<{ files: ArtifactFile[] }> {
    const ws = await requireWorkspace(this.store, ref);
    const dir = this.uploadDir(ws, parseUploadId(uploadId));
    if (!(await exists(dir))) throw notFound('artifact upload', uploadId);
    return { files: await this.staged(dir) };
  }

  /** Seals the upload: its manifest's SHA-256 names the artifact. An identical artifact is reused (200). */
  async commit(ref: WorkspaceRef, uploadId: string): Promise<{ created: boolean; manifest: Manifest }> {
    const ws = await requireWorkspace(this.store, ref);
    const dir = this.uploadDir(ws, parseUploadId(uploadId));
    if (!(await exists(dir))) throw notFound('artifact upload', uploadId);
    const files = await this.staged(dir);
    for (const f of files) {
      const st = await stat(join(dir, 'files', ...f.path.split('/'))).catch(() => undefined);
      if (st?.size !== f.size) {
        throw new MlgridError('Conflict', `The upload's file '${f.path}' changed while committing; retry.`);
      }
    }
    const manifest = buildManifest(files, this.now().toISOString());
    const target = join(this.wsDir(ws), manifest.sha256);
    const existing = await this.readManifest(target);
    if (existing) {
      await rm(dir, { recursive: true, force: true });
      return { created: false, manifest: existing };
    }
    await rm(join(dir, 'meta'), { recursive: true, force: true });
    await writeFile(join(dir, 'manifest.json'), JSON.stringify(manifest, null, 2));
    await fsync(join(dir, 'manifest.json'));
    try {
      await rename(dir, target);
    } catch (err) {
      const raced = await this.readManifest(target); // an identical commit won
      if (!raced) throw err;
      await rm(dir, { recursive: true, force: true });
      return { created: false, manifest: raced };
    }
    return { created: true, manifest };
  }

  async deleteUpload(ref: WorkspaceRef, uploadId: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    const dir = this.uploadDir(ws, parseUploadId(uploadId));
    if (!(await exists(dir))) return false;
    await rm(dir, { recursive: true, force: true });
    return true;
  }

  async list(ref: WorkspaceRef): Promise<Manifest[]> {
    const ws = await requireWorkspace(this.store, ref);
    const names = await readdir(this.wsDir(ws)).catch(() => [] as string[]);
    const out: Manifest[] = [];
    for (const n of names) {
      if (!/^[0-9a-f]{64}$/.test(n)) continue;
      const m = await this.readManifest(join(this.wsDir(ws), n));
      if (m) out.push(m);
    }
    return out.sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.sha256.localeCompare(b.sha256));
  }

  async get(ref: WorkspaceRef, id: string): Promise<Manifest> {
    const ws = await requireWorkspace(this.store, ref);
    return this.requireManifest(ws, parseArtifactId(id));
  }

  /** A committed file's bytes and what the response states about them. */
  async open(ref: WorkspaceRef, id: string, path: string): Promise<{ file: ArtifactFile; body: ReadStream }> {
    const ws = await requireWorkspace(this.store, ref);
    const sha = parseArtifactId(id);
    const m = await this.requireManifest(ws, sha);
    const file = m.files.find((f) => f.path === path);
    if (!file) throw notFound('artifact file', `${m.uri}/${path}`);
    const full = join(this.wsDir(ws), sha, 'files', ...path.split('/'));
    return { file, body: createReadStream(full) };
  }

  /** Refused (409) while a model version of the workspace is registered with the artifact's URI. */
  async delete(ref: WorkspaceRef, id: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    const sha = parseArtifactId(id);
    const m = await this.readManifest(join(this.wsDir(ws), sha));
    if (!m) return false;
    for (const c of await this.store.listModelContainers(ws.key)) {
      for (const v of await this.store.listModelVersions(c.key)) {
        if ((v.spec as ModelVersionSpec).modelUri === m.uri) {
          throw new MlgridError(
            'Conflict',
            `Model ${c.name} version ${v.version} is registered with ${m.uri}; delete that version first.`,
          );
        }
      }
    }
    // Out of sight in one rename, then removed: a reader never sees half an artifact.
    const trash = join(this.wsDir(ws), 'uploads', `.deleted-${randomBytes(6).toString('hex')}`);
    await mkdir(dirname(trash), { recursive: true });
    await rename(join(this.wsDir(ws), sha), trash);
    await rm(trash, { recursive: true, force: true });
    return true;
  }

  /** Whether `mlgrid://artifacts/<sha>` names a committed artifact of the workspace. */
  async exists(ws: WorkspaceRecord, sha256: string): Promise<boolean> {
    return (await this.readManifest(join(this.wsDir(ws), sha256.toLowerCase()))) !== undefined;
  }

  /** The folder holding a committed artifact's files (a model a deployment serves), if it exists here. */
  async localFolder(ws: WorkspaceRecord, sha256: string): Promise<string | undefined> {
    return (await this.exists(ws, sha256)) ? join(this.wsDir(ws), sha256.toLowerCase(), 'files') : undefined;
  }

  /** Before a workspace is deleted: its artifacts go with it. */
  async workspaceDeleting(ref: WorkspaceRef): Promise<void> {
    const ws = await this.store.getWorkspace(workspaceId(ref).toLowerCase());
    if (ws) await rm(this.wsDir(ws), { recursive: true, force: true });
  }

  // ---------------------------------------------------------------- helpers

  private wsDir(ws: WorkspaceRecord): string {
    return join(this.cfg.dir, ws.workspaceGuid);
  }

  private uploadDir(ws: WorkspaceRecord, uploadId: string): string {
    return join(this.wsDir(ws), 'uploads', uploadId.toLowerCase());
  }

  private async staged(dir: string): Promise<ArtifactFile[]> {
    const names = await readdir(join(dir, 'meta')).catch(() => [] as string[]);
    const out: ArtifactFile[] = [];
    for (const n of names) {
      if (!n.endsWith('.json')) continue;
      const text = await readFile(join(dir, 'meta', n), 'utf8').catch(() => undefined);
      if (text !== undefined) out.push(JSON.parse(text) as ArtifactFile);
    }
    return out;
  }

  private async readManifest(dir: string): Promise<Manifest | undefined> {
    const text = await readFile(join(dir, 'manifest.json'), 'utf8').catch(() => undefined);
    return text === undefined ? undefined : (JSON.parse(text) as Manifest);
  }

  private async requireManifest(ws: WorkspaceRecord, sha: string): Promise<Manifest> {
    const m = await this.readManifest(join(this.wsDir(ws), sha));
    if (!m) throw notFound('artifact', `${ws.id}/artifacts/${sha}`);
    return m;
  }

  /** Best effort, at most once a minute per workspace: abandoned uploads older than a day are removed. */
  private async sweep(ws: WorkspaceRecord): Promise<void> {
    const now = this.now().getTime();
    if (now - (this.lastSweep.get(ws.key) ?? 0) < 60_000) return;
    this.lastSweep.set(ws.key, now);
    const root = join(this.wsDir(ws), 'uploads');
    for (const n of await readdir(root).catch(() => [] as string[])) {
      const st = await stat(join(root, n)).catch(() => undefined);
      if (st && now - st.mtimeMs > STALE_UPLOAD_MS) await rm(join(root, n), { recursive: true, force: true });
    }
  }
}

function tooLarge(max: number): MlgridError {
  return new MlgridError(
    'PayloadTooLarge',
    `The file is larger than the artifact store's limit of ${max.toLocaleString('en-US')} bytes per file.`,
    'body',
  );
}

/** A path's file name in `meta/`: paths may be long and nested, their hashes are neither. */
function pathKey(path: string): string {
  return createHash('sha256').update(path, 'utf8').digest('hex').slice(0, 40);
}

async function exists(p: string): Promise<boolean> {
  return (await stat(p).catch(() => undefined)) !== undefined;
}

/** The data reaches the disk before the rename that publishes it. */
async function fsync(file: string): Promise<void> {
  const h = await open(file, 'r+');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
}
