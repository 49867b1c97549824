/**
 * mlgrid's artifact store: files uploaded into a workspace, sealed as an immutable artifact whose id is the
 * SHA-256 of its manifest, `mlgrid://artifacts/<sha256>` — the `modelUri` a model version registers.
 */
import { API_VERSIONS, seg, type Transport } from './http.js';

const ML = API_VERSIONS.ml;

/** What a file's bytes may be: streams are sent as they are read, never buffered. */
export type ArtifactBody = Uint8Array | Blob | ReadableStream<Uint8Array> | string;

export interface ArtifactFileIn {
  /** Relative, `/`-separated (`model/weights.bin`). */
  path: string;
  body: ArtifactBody;
  /** Hex SHA-256 the server checks the bytes against; computed here for bytes and strings (a Blob or a stream
   *  may be large and is never read twice: pass it when you know it). */
  sha256?: string;
}

export interface ArtifactFileOut {
  path: string;
  size: number;
  sha256: string;
}

export interface ArtifactOut {
  id: string;
  /** The SHA-256 (hex) of the manifest: the artifact's identity. */
  name: string;
  /** `mlgrid://artifacts/<sha256>`: register a model version with it. */
  uri: string;
  sha256: string;
  size: number;
  createdAt: string;
  files: ArtifactFileOut[];
}

export type ArtifactSummary = Omit<ArtifactOut, 'files'> & { fileCount: number };

export interface UploadOptions {
  /** Names the upload (letters, digits, `-`, `_`); random by default. Reusing one resumes it. */
  uploadId?: string;
  /** After each file. */
  onFile?: (file: ArtifactFileOut, done: number, total: number) => void;
}

interface WsIds {
  workspaceId(rg: string, name: string): string;
}

export class Artifacts {
  constructor(
    private readonly http: Transport,
    private readonly ids: WsIds,
  ) {}

  /**
   * Uploads the files (one body is one file named `model`) and seals them as one artifact. An identical
   * artifact already stored is returned as is. On failure the upload is abandoned.
   */
  async upload(
    rg: string,
    ws: string,
    files: ArtifactFileIn[] | ArtifactBody,
    opts: UploadOptions = {},
  ): Promise<ArtifactOut> {
    const list = Array.isArray(files) ? files : [{ path: 'model', body: files }];
    const uploadId = opts.uploadId ?? globalThis.crypto.randomUUID();
    try {
      let done = 0;
      for (const f of list) {
        const out = await this.putFile(rg, ws, uploadId, f);
        opts.onFile?.(out, ++done, list.length);
      }
      return await this.commit(rg, ws, uploadId);
    } catch (err) {
      if (opts.uploadId === undefined) await this.abandon(rg, ws, uploadId).catch(() => undefined);
      throw err;
    }
  }

  /** One file into an upload (`x-ms-content-sha256` checked by the server when known). */
  async putFile(rg: string, ws: string, uploadId: string, f: ArtifactFileIn): Promise<ArtifactFileOut> {
    const inMemory = typeof f.body === 'string' || f.body instanceof Uint8Array;
    const sha256 = f.sha256 ?? (inMemory ? await sha256Hex(f.body as Uint8Array | string) : undefined);
    const headers: Record<string, string> = {};
    if (sha256 !== undefined) headers['x-ms-content-sha256'] = hexToBase64(sha256);
    const path = `${this.uploads(rg, ws, uploadId)}/files/${filePath(f.path)}`;
    return this.http.json('PUT', path, { apiVersion: ML, rawBody: f.body, headers });
  }

  commit(rg: string, ws: string, uploadId: string): Promise<ArtifactOut> {
    return this.http.json('POST', `${this.uploads(rg, ws, uploadId)}/commit`, { apiVersion: ML });
  }

  abandon(rg: string, ws: string, uploadId: string): Promise<boolean> {
    return this.http.delete(this.uploads(rg, ws, uploadId), ML);
  }

  get(rg: string, ws: string, sha256: string): Promise<ArtifactOut> {
    return this.http.json('GET', this.one(rg, ws, sha256), { apiVersion: ML });
  }

  async list(rg: string, ws: string): Promise<ArtifactSummary[]> {
    const path = `${this.ids.workspaceId(rg, ws)}/artifacts`;
    return (await this.http.json<{ value: ArtifactSummary[] }>('GET', path, { apiVersion: ML })).value;
  }

  /** A file's bytes as a stream (the response states its SHA-256 in `x-ms-content-sha256`). */
  async download(rg: string, ws: string, sha256: string, path: string): Promise<Response> {
    const url = `${this.one(rg, ws, sha256)}/files/${filePath(path)}`;
    return this.http.send('GET', url, { apiVersion: ML, headers: { accept: '*/*' } });
  }

  /** Refused (409) while a model version is registered with it. */
  delete(rg: string, ws: string, sha256: string): Promise<boolean> {
    return this.http.delete(this.one(rg, ws, sha256), ML);
  }

  private uploads(rg: string, ws: string, uploadId: string): string {
    return `${this.ids.workspaceId(rg, ws)}/artifactUploads/${seg(uploadId)}`;
  }

  private one(rg: string, ws: string, sha256: string): string {
    return `${this.ids.workspaceId(rg, ws)}/artifacts/${seg(sha256)}`;
  }
}

/** Each segment encoded; `.`/`..`/empty refused here, since URL parsing would resolve them away silently. */
function filePath(path: string): string {
  const segs = path.split('/');
  if (segs.some((s) => s === '' || s === '.' || s === '..')) {
    throw new TypeError(`Artifact file path '${path}' must be relative, without empty, . or .. segments.`);
  }
  return segs.map(seg).join('/');
}

async function sha256Hex(body: Uint8Array | string): Promise<string> {
  const bytes = typeof body === 'string' ? new TextEncoder().encode(body) : body;
  const digest = await globalThis.crypto.subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

function hexToBase64(hex: string): string {
  const bytes = hex.match(/../g)!.map((h) => parseInt(h, 16));
  return btoa(String.fromCharCode(...bytes));
}
