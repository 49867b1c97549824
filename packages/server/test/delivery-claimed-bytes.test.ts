/**
 * Deliveries claimed on SQLite's reader thread carry their bodies as UTF-8 bytes (store/sqlite-claim-reader.ts):
 * Event Grid batches are sent as those bytes, conversions and other destinations decode them. Events published
 * while no dispatcher ran are claimed after a restart, so every delivery here takes that path.
 */
import { EventGridDeserializer } from '@azure/eventgrid';
import { HTTP } from 'cloudevents';
import { Webhook } from 'standardwebhooks';
import { afterAll, describe, expect, it } from 'vitest';
import { startReceiver, type Receiver } from './helpers/receiver.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { tempDir } from './helpers/tmp.js';

const TOPIC = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.EventGrid/topics/bytes';
const sub = (n: string) => `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/${n}`;
const hook = (url: string, extra: object = {}) => ({
  endpointType: 'WebHook',
  properties: { endpointUrl: url, ...extra },
});

const events = Array.from({ length: 25 }, (_, i) => ({
  id: `b-${i}`,
  eventType: 'Microsoft.MachineLearningServices.RunCompleted',
  subject: `experiments/e/runs/b-${i}`,
  eventTime: '2026-01-01T00:00:00.000Z',
  dataVersion: '2',
  // Multi-byte text (2, 3 and 4 bytes per character in UTF-8), a lone surrogate and escapes.
  data: { runId: `r${i}`, note: `Zoë ☃ 中文 🚀 \ud800 "q" \\ ${'x'.repeat(i * 40)}` },
}));

describe('deliveries claimed on the reader thread (bodies as bytes)', () => {
  const dir = tempDir();
  const receivers: Receiver[] = [];
  let s: TestServer | undefined;
  afterAll(async () => {
    await s?.stop();
    await Promise.all(receivers.map((r) => r.close()));
    dir.cleanup();
  });

  it('sends Event Grid batches byte for byte, signed, and converts CloudEvents from the same bytes', async () => {
    const eg = await startReceiver();
    const ce = await startReceiver();
    receivers.push(eg, ce);
    // 1. Publish with no dispatcher: the deliveries wait in the store.
    s = await startTestServer('sqlite', { dataDir: dir.dir });
    await s.arm('PUT', TOPIC, { location: 'local' });
    const key = (await (await s.arm('POST', `${TOPIC}/listKeys`)).json()).key1;
    const put = (name: string, properties: object) => s!.arm('PUT', sub(name), { properties });
    const batching = { maxEventsPerBatch: 10, preferredBatchSizeInKilobytes: 1024 };
    expect(
      (await put('eg-sub', { destination: hook(eg.url, batching), signing: { enabled: true } })).status,
    ).toBe(201);
    expect(
      (await put('ce-sub', { destination: hook(ce.url), eventDeliverySchema: 'CloudEventSchemaV1_0' }))
        .status,
    ).toBe(201);
    const [{ secret }] = (await (await s.arm('POST', `${sub('eg-sub')}/getSigningSecrets`)).json()).value;
    const published = await fetch(`${s.url}/topics/bytes/api/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'aeg-sas-key': key },
      body: JSON.stringify(events),
    });
    expect(published.status).toBe(200);
    await s.stop();

    // 2. Restart with the dispatcher: every delivery is claimed, none handed over from a publish.
    s = await startTestServer('sqlite', {
      dataDir: dir.dir,
      delivery: { timeScale: 0.001, pollMs: 20, validateWebhooks: false },
    });
    await eg.waitFor(() => eg.eventIds().length >= events.length);
    await ce.waitFor(() => ce.notifications().length >= events.length);

    const sent = new Map(events.map((e) => [e.id, e]));
    for (const n of eg.notifications()) {
      expect(n.body.startsWith('[')).toBe(true);
      expect(() => new Webhook(secret).verify(n.body, n.headers as Record<string, string>)).not.toThrow();
      const got = await new EventGridDeserializer().deserializeEventGridEvents(n.body);
      expect(got.length).toBeLessThanOrEqual(10);
      expect(n.headers['aeg-output-event-id']).toBe(got[0]!.id);
      for (const e of got) expect(e.data).toEqual(JSON.parse(JSON.stringify(sent.get(e.id)!.data)));
    }
    expect(eg.eventIds().sort()).toEqual([...sent.keys()].sort());

    for (const n of ce.notifications()) {
      const got = HTTP.toEvent({ headers: n.headers, body: n.body }) as { id: string; data: unknown };
      expect(got.data).toEqual(JSON.parse(JSON.stringify(sent.get(got.id)!.data)));
    }
    expect(ce.notifications()).toHaveLength(events.length);
  });
});
