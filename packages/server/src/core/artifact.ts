/**
 * mlgrid's artifact store, pure: an artifact is an immutable set of files addressed by the SHA-256 of its
 * manifest (`mlgrid://artifacts/<sha256>`, the `modelUri` form the model registry accepts), so the URI is itself
 * the checksum a deployment verifies the files against. Paths, upload ids, checksum headers, the manifest.
 */
import { createHash } from 'node:crypto';
import { invalid } from './errors.js';

/** Per file; a larger body is a 413 (`MLGRID_ARTIFACT_MAX_BYTES`). */
export const DEFAULT_MAX_FILE_BYTES = 5 * 1024 ** 3;
/** Bounds that keep a manifest small enough to read and render in one go. */
export const ARTIFACT_LIMITS = { maxFiles: 10_000, maxPathChars: 1024, maxSegmentChars: 255, maxDepth: 32 };

const HEX64 = /^[0-9a-f]{64}$/i;
const BASE64_SHA256 = /^[A-Za-z0-9+/]{43}=$/;
const UPLOAD_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
// eslint-disable-next-line no-control-regex
const BAD_SEGMENT_CHARS = /[\\\u0000-\u001f\u007f]/;

export interface ArtifactFile {
  /** Relative, `/`-separated, as uploaded. */
  path: string;
  size: number;
  /** Lower-case hex. */
  sha256: string;
}

export interface Manifest {
  /** SHA-256 (hex) of `manifestText(files)`: the artifact's identity. */
  sha256: string;
  uri: string;
  size: number;
  files: ArtifactFile[];
  createdAt: string;
}

export function artifactUri(sha256: string): string {
  return `mlgrid://artifacts/${sha256.toLowerCase()}`;
}

/** An artifact id in a URL: 64 hex digits (any case), returned lower-cased. */
export function parseArtifactId(raw: string, target = 'artifact'): string {
  if (!HEX64.test(raw)) throw invalid(target, 'must be the artifact SHA-256: 64 hex digits');
  return raw.toLowerCase();
}

/** The client's name for an upload in progress (a UUID fits): letters, digits, `-`, `_`. */
export function parseUploadId(raw: string): string {
  if (!UPLOAD_ID_RE.test(raw)) {
    throw invalid('uploadId', 'must be 1-64 letters, digits, hyphens or underscores, starting alphanumeric');
  }
  return raw;
}

/**
 * A file's relative path from the raw (still percent-encoded) URL tail: each segment is decoded on its own, so
 * an encoded `/` (`%2F`) or `..` (`%2E%2E`) cannot smuggle a separator or a parent reference past the check.
 * Refused: empty segments (absolute paths, `a//b`), `.` and `..`, backslashes, control characters.
 */
export function parseFilePath(rawTail: string, target = 'path'): string {
  if (rawTail === '') throw invalid(target, 'is required: the file path below files/');
  if (rawTail.length > ARTIFACT_LIMITS.maxPathChars * 3) throw invalid(target, 'is too long');
  const segs = rawTail.split('/').map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      throw invalid(target, 'is not valid percent-encoding');
    }
  });
  return checkSegments(segs, target);
}

/** A path given in a JSON body or by the CLI (already decoded). */
export function parseRelativePath(path: string, target = 'path'): string {
  if (typeof path !== 'string' || path === '') throw invalid(target, 'is required');
  return checkSegments(path.split('/'), target);
}

function checkSegments(segs: string[], target: string): string {
  if (segs.length > ARTIFACT_LIMITS.maxDepth) {
    throw invalid(target, `must be at most ${ARTIFACT_LIMITS.maxDepth} folders deep`);
  }
  for (const s of segs) {
    if (s === '') throw invalid(target, 'must be relative, without empty segments (no leading /, no //)');
    if (s === '.' || s === '..') throw invalid(target, 'must not contain . or .. segments');
    if (s.includes('/') || BAD_SEGMENT_CHARS.test(s)) {
      throw invalid(target, 'must not contain encoded slashes, backslashes or control characters');
    }
    if (s.length > ARTIFACT_LIMITS.maxSegmentChars) {
      throw invalid(target, `segments must be at most ${ARTIFACT_LIMITS.maxSegmentChars} characters`);
    }
  }
  const path = segs.join('/');
  if (path.length > ARTIFACT_LIMITS.maxPathChars) {
    throw invalid(target, `must be at most ${ARTIFACT_LIMITS.maxPathChars} characters`);
  }
  return path;
}

/**
 * The checksum a client sent with a file, as hex, or undefined: `x-ms-content-sha256` (base64, as Azure signs
 * bodies, or hex) or `Content-Digest: sha-256=:<base64>:` (RFC 9530; other algorithms in it are ignored).
 */
export function expectedSha256(
  headers: Record<string, string | string[] | undefined>,
): { hex: string; header: string } | undefined {
  const one = (v: string | string[] | undefined) => (Array.isArray(v) ? v.join(',') : v);
  const ms = one(headers['x-ms-content-sha256'])?.trim();
  if (ms !== undefined && ms !== '') {
    const header = 'x-ms-content-sha256';
    if (HEX64.test(ms)) return { hex: ms.toLowerCase(), header };
    if (BASE64_SHA256.test(ms)) return { hex: Buffer.from(ms, 'base64').toString('hex'), header };
    throw invalid('x-ms-content-sha256', 'must be the SHA-256 of the body in base64 or hex');
  }
  const digest = one(headers['content-digest']);
  if (digest === undefined || digest.trim() === '') return undefined;
  const m = /(?:^|,)\s*sha-256\s*=\s*:([A-Za-z0-9+/]{43}=):/i.exec(digest);
  if (!m) throw invalid('content-digest', 'must carry sha-256=:<base64>: (RFC 9530)');
  return { hex: Buffer.from(m[1]!, 'base64').toString('hex'), header: 'content-digest' };
}

/** UTF-8 byte order: the same in every language, so anyone can recompute a manifest's digest. */
export function sortFiles(files: readonly ArtifactFile[]): ArtifactFile[] {
  return [...files].sort((a, b) => Buffer.compare(Buffer.from(a.path), Buffer.from(b.path)));
}

/**
 * What the artifact id hashes: one `sha256sum` line per file (`<hex>  <path>\n`) in UTF-8 byte order of the
 * paths, so `sha256sum -c` checks a downloaded copy and `sha256sum` of these lines gives the id back.
 */
export function manifestText(files: readonly ArtifactFile[]): string {
  return sortFiles(files)
    .map((f) => `${f.sha256}  ${f.path}\n`)
    .join('');
}

export function buildManifest(files: readonly ArtifactFile[], createdAt: string): Manifest {
  if (files.length === 0) throw invalid('files', 'the upload has no files: PUT at least one first');
  if (files.length > ARTIFACT_LIMITS.maxFiles) {
    throw invalid('files', `an artifact holds at most ${ARTIFACT_LIMITS.maxFiles} files`);
  }
  const sorted = sortFiles(files);
  const sha256 = createHash('sha256').update(manifestText(sorted), 'utf8').digest('hex');
  return {
    sha256,
    uri: artifactUri(sha256),
    size: sorted.reduce((n, f) => n + f.size, 0),
    files: sorted,
    createdAt,
  };
}

/** A file of one path below another (`a` and `a/b`) cannot both exist on disk. */
export function pathClash(paths: readonly string[], path: string): string | undefined {
  for (const p of paths) {
    if (p.startsWith(`${path}/`) || path.startsWith(`${p}/`)) return p;
  }
  return undefined;
}
