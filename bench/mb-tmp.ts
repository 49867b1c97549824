// TEMPORARY micro-benchmark (to be deleted)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SqliteStore } from '../packages/server/src/store/sqlite-store.js';
const dir = mkdtempSync(join(tmpdir(), 'mb-'));
const store = new SqliteStore({ dataDir: dir });
const N = 20000;
const body = JSON.stringify({ id: 'x', data: 'y'.repeat(900) });
const rows = Array.from({ length: N }, (_, i) => ({ eventId: `e${i}`, sourceKey: 't', eventType: 'T', subject: 's', schema: 'EventGridSchema', body, subscriptionKeys: ['sub'] }));
let t = performance.now();
for (let i = 0; i < N; i += 500) await store.appendEvents(rows.slice(i, i + 500), 1000);
console.log('append µs/ev', ((performance.now() - t) * 1000 / N).toFixed(1));
t = performance.now();
const claimed = [];
for (let i = 0; i < N; i += 500) claimed.push(...(await store.claimDeliveries({ owner: 'w', limit: 500, now: 2000, leaseUntil: 999999 })));
console.log('claim µs/ev', ((performance.now() - t) * 1000 / N).toFixed(1), claimed.length);
for (const per of [1, 25]) {
  const part = per === 1 ? claimed.slice(0, N / 2) : claimed.slice(N / 2);
  t = performance.now();
  for (let i = 0; i < part.length; i += per) {
    const g = part.slice(i, i + per);
    await store.settleDeliveries('w', g.map((d) => ({ id: d.id, status: 'delivered' as const, attempts: 1, lastAttemptAt: 3000, lastStatusCode: 200, lastOutcome: 'Succeeded' })),
      g.map((d) => ({ subscriptionKey: 'sub', startedAt: 3000, durationMs: 1, deliveryCount: 0, eventIds: [d.event.eventId], statusCode: 200, outcome: 'Succeeded' })), 3000);
  }
  console.log(`settle per ${per}: µs/ev`, ((performance.now() - t) * 1000 / part.length).toFixed(1));
}
await store.close();
