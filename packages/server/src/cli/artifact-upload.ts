/**
 * `mlgrid ml model create --upload`: a local file or folder into the workspace's artifact store, file by file,
 * streamed, each with its SHA-256 for the server to check, then sealed as `mlgrid://artifacts/<sha256>`.
 * A progress bar on stderr when it is a terminal.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { parseRelativePath } from '../core/artifact.js';
import type { ArmClient } from './http-client.js';
import type { CliIo } from './output.js';

interface LocalFile {
  path: string;
  abs: string;
  size: number;
}

export interface UploadedArtifact {
  uri: string;
  sha256: string;
  size: number;
  files: { path: string; size: number; sha256: string }[];
}

/** `workspace` is the workspace's unencoded ARM path. */
export async function uploadArtifact(
  client: ArmClient,
  workspace: string,
  local: string,
  io: CliIo & { stderrIsTTY?: boolean },
): Promise<UploadedArtifact> {
  const files = await collect(local);
  const total = files.reduce((n, f) => n + f.size, 0);
  const bar = progressBar(io, total, files.length);
  const upload = `${workspace}/artifactUploads/${randomUUID()}`;
  try {
    let sent = 0;
    for (const [i, f] of files.entries()) {
      const sha256 = await hashFile(f.abs);
      const before = sent;
      let bytes = 0;
      const meter = new Transform({
        transform(chunk: Buffer, _enc, done) {
          bytes += chunk.length;
          bar.update(before + bytes, i);
          done(null, chunk);
        },
      });
      const body = Readable.toWeb(createReadStream(f.abs).pipe(meter)) as ReadableStream<Uint8Array>;
      await client.putRaw(`${upload}/files/${f.path}`, body, {
        'x-ms-content-sha256': Buffer.from(sha256, 'hex').toString('base64'),
        'content-length': String(f.size),
      });
      sent += f.size;
      bar.update(sent, i + 1);
    }
    return await client.post<UploadedArtifact>(`${upload}/commit`);
  } catch (err) {
    await client.delete(upload).catch(() => undefined); // nothing half-uploaded stays behind
    throw err;
  } finally {
    bar.done();
  }
}

/** A file, or every file below a folder (symbolic links followed), with `/`-separated relative paths. */
async function collect(local: string): Promise<LocalFile[]> {
  const st = await stat(local).catch(() => undefined);
  if (!st) throw new Error(`--path: ${local} does not exist`);
  if (st.isFile()) return [{ path: checked(basename(local)), abs: local, size: st.size }];
  const out: LocalFile[] = [];
  const walk = async (dir: string) => {
    for (const name of (await readdir(dir)).sort()) {
      const abs = join(dir, name);
      const s = await stat(abs);
      if (s.isDirectory()) await walk(abs);
      else if (s.isFile())
        out.push({ path: checked(relative(local, abs).split(sep).join('/')), abs, size: s.size });
    }
  };
  await walk(local);
  if (out.length === 0) throw new Error(`--path: the folder ${local} has no files`);
  return out;
}

function checked(path: string): string {
  try {
    return parseRelativePath(path);
  } catch (err) {
    throw new Error(`--path: cannot upload ${path}: ${(err as Error).message}`);
  }
}

async function hashFile(abs: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(abs)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** `uploading [######----] 60% 12.0 MB / 20.0 MB, 3/5 files`, rewritten in place at most 10 times a second. */
function progressBar(io: CliIo & { stderrIsTTY?: boolean }, total: number, count: number) {
  const tty = io.stderrIsTTY ?? process.stderr.isTTY === true;
  let shown = false;
  let last = 0;
  const mb = (n: number) => `${(n / 1e6).toFixed(1)} MB`;
  return {
    update(bytes: number, filesDone: number) {
      const now = Date.now();
      if (!tty || (now - last < 100 && bytes < total)) return;
      last = now;
      shown = true;
      const frac = total === 0 ? 1 : bytes / total;
      const bar = '#'.repeat(Math.round(frac * 20)).padEnd(20, '-');
      const pct = `${Math.floor(frac * 100)}%`.padStart(4);
      io.stderr(`\ruploading [${bar}] ${pct} ${mb(bytes)} / ${mb(total)}, ${filesDone}/${count} files\x1b[K`);
    },
    done() {
      if (shown) io.stderr('\r\x1b[K');
    },
  };
}
