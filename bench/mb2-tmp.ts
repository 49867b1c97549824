// TEMPORARY micro-benchmark (to be deleted)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../packages/server/src/store/sqlite-store.js';
const dir = mkdtempSync(join(tmpdir(), 'mb-'));
const store = new SqliteStore({ dataDir: dir });
const N = 30000;
const body = JSON.stringify({ id: 'x', data: 'y'.repeat(900) });
const rows = Array.from({ length: N }, (_, i) => ({ eventId: `e${i}`, sourceKey: 't', eventType: 'T', subject: 's', schema: 'EventGridSchema', body, subscriptionKeys: ['sub'] }));
for (let i = 0; i < N; i += 500) await store.appendEvents(rows.slice(i, i + 500), 1000);
const claimed: { id: string }[] = [];
for (let i = 0; i < N; i += 500) claimed.push(...(await store.claimDeliveries({ owner: 'w', limit: 500, now: 2000, leaseUntil: 999999 })));
const db = store.db;
db.pragma('synchronous = NORMAL');
const a = db.prepare(`UPDATE deliveries SET status = @status, attempts = @attempts,
        next_attempt_at = COALESCE(@nextAttemptAt, next_attempt_at), last_attempt_at = COALESCE(@lastAttemptAt, last_attempt_at),
        last_status_code = @lastStatusCode, last_outcome = COALESCE(@lastOutcome, last_outcome),
        dead_letter_reason = @deadLetterReason, settled_at = CASE WHEN @status = 'pending' THEN NULL ELSE @now END,
        lease_owner = NULL, lease_until = NULL
      WHERE id = @id AND lease_owner = @owner`);
const b = db.prepare(`UPDATE deliveries SET status = 'delivered', attempts = ?, last_attempt_at = ?, last_status_code = ?,
  last_outcome = ?, dead_letter_reason = NULL, settled_at = ?, lease_owner = NULL, lease_until = NULL WHERE id = ? AND lease_owner = ?`);
const c = db.prepare(`UPDATE deliveries SET status = 'delivered', attempts = attempts + 1, last_attempt_at = ?, last_status_code = ?,
  last_outcome = ?, dead_letter_reason = NULL, settled_at = ?, lease_owner = NULL, lease_until = NULL WHERE id IN (SELECT value FROM json_each(?)) AND lease_owner = ?`);
const third = N / 3;
for (const [name, fn] of [
  ['named', (ids: string[]) => { for (const id of ids) a.run({ id: Number(id), owner: 'w', now: 3000, status: 'delivered', attempts: 1, nextAttemptAt: null, lastAttemptAt: 3000, lastStatusCode: 200, lastOutcome: 'Succeeded', deadLetterReason: null }); }],
  ['positional', (ids: string[]) => { for (const id of ids) b.run(1, 3000, 200, 'Succeeded', 3000, Number(id), 'w'); }],
  ['json_each', (ids: string[]) => { c.run(3000, 200, 'Succeeded', 3000, JSON.stringify(ids.map(Number)), 'w'); }],
] as const) {
  const i0 = name === 'named' ? 0 : name === 'positional' ? third : 2 * third;
  const part = claimed.slice(i0, i0 + third).map((d) => d.id);
  const t = performance.now();
  for (let i = 0; i < part.length; i += 25) db.transaction(() => fn(part.slice(i, i + 25)))();
  console.log(name, 'µs/ev', ((performance.now() - t) * 1000 / part.length).toFixed(1));
}
await store.close();
