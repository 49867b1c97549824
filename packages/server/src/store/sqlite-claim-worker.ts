/** Worker thread of sqlite-claim-reader.ts: its own connection to the store's file, reads only. */
import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { claimQuery, pack, type ClaimRead } from './sqlite-claim-reader.js';

const db = new Database((workerData as { file: string }).file, { readonly: true, fileMustExist: true });
const read = claimQuery(db);

parentPort!.on('message', (m: ClaimRead & { k: number }) => {
  try {
    const page = pack(read(m));
    parentPort!.postMessage({ k: m.k, page }, [
      page.nums.buffer as ArrayBuffer,
      page.ends.buffer as ArrayBuffer,
      page.bytes.buffer as ArrayBuffer,
      page.bodyEnds.buffer as ArrayBuffer,
    ]);
  } catch (err) {
    parentPort!.postMessage({ k: m.k, error: (err as Error).message || String(err) });
  }
});
