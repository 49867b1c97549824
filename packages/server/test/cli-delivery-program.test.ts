/** `mlgrid eventgrid event-subscription delivery|dead-letter|replay` over real HTTP against a canned server. */
import { describe, expect, it } from 'vitest';
import { useCannedServer, type Recorded } from './helpers/canned-server.js';
import type { DeliveryIo } from '../src/cli/eventgrid-delivery.js';
import { runCli } from '../src/cli/program.js';

const KEY = 'admin-key-123';
const SUB = '11111111-2222-3333-4444-555555555555';
const TOPIC = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.EventGrid/topics/t1`;
const ES = `${TOPIC}/providers/Microsoft.EventGrid/eventSubscriptions/sub1`;
const V = '2022-06-15';

const canned = useCannedServer();
/** The recorded requests without their headers (checked elsewhere). */
const sent = () => canned.requests.map(({ headers: _headers, ...r }) => r);

async function run(tty: boolean, args: string[]) {
  let stdout = '';
  let stderr = '';
  const io: DeliveryIo = {
    stdout: (s) => (stdout += s),
    stderr: (s) => (stderr += s),
    stderrIsTTY: tty,
  };
  const code = await runCli(['eventgrid', 'event-subscription', ...args], io);
  return { code, stdout, stderr };
}
/** `mlgrid eventgrid event-subscription ARGS -n sub1 --topic-name t1 -g rg1 --server … --key …` */
const es = (...args: string[]) =>
  run(false, [...args, '-n', 'sub1', '--topic-name', 't1', '-g', 'rg1', ...conn()]);
const conn = () => ['--server', canned.url, '--key', KEY, '--subscription', SUB];

const attempt = (id: number, outcome = 'BadRequest', statusCode = 400) => ({
  id: String(id),
  subscriptionKey: 'k',
  startedAt: `2026-01-01T00:00:0${id % 10}.000Z`,
  durationMs: 12,
  deliveryCount: 0,
  eventIds: [`e${id}`, `f${id}`],
  statusCode,
  outcome,
  responseExcerpt: 'bad payload',
});

describe('delivery list', () => {
  it('GETs deliveryAttempts with outcome, from and to, and renders the log as a table', async () => {
    canned.reply = () => ({ json: { value: [attempt(1), attempt(2, 'Succeeded', 200)] } });
    const r = await es(
      'delivery',
      'list',
      '--outcome',
      'FAILED',
      '--since',
      '2026-01-01',
      '--until',
      '2026-01-02T10:00:00+02:00',
      '-o',
      'table',
    );
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(sent()).toEqual([
      {
        method: 'GET',
        path: `${ES}/deliveryAttempts`,
        query: {
          'api-version': V,
          outcome: 'failed',
          from: '2026-01-01T00:00:00.000Z',
          to: '2026-01-02T08:00:00.000Z',
        },
        body: undefined,
      },
    ]);
    expect(r.stdout).toBe(
      [
        'Time                      Outcome     Status  DurationMs  DeliveryCount  Events',
        '------------------------  ----------  ------  ----------  -------------  ------',
        '2026-01-01T00:00:01.000Z  BadRequest  400     12          0              e1,f1',
        '2026-01-01T00:00:02.000Z  Succeeded   200     12          0              e2,f2',
        '',
      ].join('\n'),
    );
  });

  it('sends outcomes in the server spelling, prints JSON rows, and rejects bad flags before any request', async () => {
    canned.reply = () => ({ json: { value: [attempt(1)] } });
    const ok = await es('delivery', 'list', '--outcome', 'badrequest');
    expect(canned.requests[0]?.query).toEqual({ 'api-version': V, outcome: 'BadRequest' });
    expect(JSON.parse(ok.stdout)).toEqual([attempt(1)]);
    canned.requests = [];
    const badOutcome = await es('delivery', 'list', '--outcome', 'meh');
    expect(badOutcome.code).toBe(1);
    expect(badOutcome.stderr).toMatch(/^ERROR: --outcome: 'meh' is not 'failed' or one of Succeeded, /);
    const badSince = await es('delivery', 'list', '--since', 'yesterday');
    expect(badSince.stderr).toMatch(/^ERROR: --since: 'yesterday' is not an ISO 8601 date/);
    const both = await es('delivery', 'list', '--all', '--top', '5');
    expect(both).toEqual({ code: 1, stdout: '', stderr: 'ERROR: --top: cannot be combined with --all\n' });
    const zero = await es('delivery', 'list', '--top', '0');
    expect(zero.stderr).toBe("ERROR: --top: '0' is not an integer between 1 and 1000000\n");
    expect(sent()).toEqual([]);
  });

  it('warns when one default page may not be all', async () => {
    canned.reply = () => ({ json: { value: [attempt(1)], nextAfter: '1' } });
    const r = await run(false, ['delivery', 'list', '-n', 'sub1', '--source-resource-id', TOPIC, ...conn()]);
    expect(r.code).toBe(0);
    expect(canned.requests).toHaveLength(1);
    expect(r.stderr).toBe('WARNING: there may be more rows: add --all, or --top N\n');
  });

  /** Serves `total` attempts in pages of `top`, with the server's nextAfter rule (a full page has one). */
  const pagedLog = (total: number) => (q: Recorded) => {
    const after = Number(q.query.after ?? 0);
    const top = Number(q.query.top ?? 100);
    const ids = Array.from({ length: Math.max(0, Math.min(top, total - after)) }, (_, i) => after + i + 1);
    const value = ids.map((i) => attempt(i));
    return { json: { value, ...(value.length === top ? { nextAfter: String(ids.at(-1)) } : {}) } };
  };

  it('--all follows nextAfter in pages of 1000 until the last page', async () => {
    canned.reply = pagedLog(2400);
    const r = await es('delivery', 'list', '--all', '-o', 'json');
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(canned.requests.map((q) => [q.method, q.path, q.query])).toEqual([
      ['GET', `${ES}/deliveryAttempts`, { 'api-version': V, top: '1000' }],
      ['GET', `${ES}/deliveryAttempts`, { 'api-version': V, top: '1000', after: '1000' }],
      ['GET', `${ES}/deliveryAttempts`, { 'api-version': V, top: '1000', after: '2000' }],
    ]);
    const rows = JSON.parse(r.stdout) as { id: string }[];
    expect(rows).toHaveLength(2400);
    expect(rows.map((a) => Number(a.id))).toEqual(Array.from({ length: 2400 }, (_, i) => i + 1));

    // An exact multiple ends with an empty page; a repeated cursor ends the loop too.
    canned.requests = [];
    canned.reply = pagedLog(1000);
    expect(JSON.parse((await es('delivery', 'list', '--all')).stdout)).toHaveLength(1000);
    expect(canned.requests.map((q) => q.query.after)).toEqual([undefined, '1000']);
    canned.requests = [];
    canned.reply = () => ({ json: { value: [attempt(1)], nextAfter: '1' } });
    expect(JSON.parse((await es('delivery', 'list', '--all')).stdout)).toHaveLength(2);
    expect(canned.requests).toHaveLength(2);
  });

  it('shows page progress on a terminal stderr only, and clears it at the end', async () => {
    canned.reply = pagedLog(2400);
    const r = await run(true, [
      'delivery',
      'list',
      '--all',
      '-n',
      'sub1',
      '--source-resource-id',
      TOPIC,
      '-o',
      'none',
      ...conn(),
    ]);
    expect(r).toEqual({
      code: 0,
      stdout: '',
      stderr: '\rfetched 1 page, 1,000 rows…\x1b[K' + '\rfetched 2 pages, 2,000 rows…\x1b[K' + '\r\x1b[K',
    });
  });

  it('--top N takes at most N rows, in pages of up to 1000', async () => {
    canned.reply = pagedLog(5000);
    const r = await es('delivery', 'list', '--top', '1500', '-o', 'tsv');
    expect(canned.requests.map((q) => [q.query.top, q.query.after])).toEqual([
      ['1000', undefined],
      ['500', '1000'],
    ]);
    expect(r.stdout.trimEnd().split('\n')).toHaveLength(1500);
    expect(r.stdout.split('\n')[0]).toBe('2026-01-01T00:00:01.000Z\tBadRequest\t400\t12\t0\te1,f1');
    expect(r.stderr).toBe('');
  });
});

describe('delivery pending', () => {
  const delivery = (id: string, status: string, event: object) => ({
    id,
    status,
    attempts: 2,
    nextAttemptTime: '2026-01-01T00:01:00.000Z',
    createdTime: '2026-01-01T00:00:00.000Z',
    event,
  });
  const rows = [
    delivery('7', 'pending', { id: 'ev-1', eventType: 'My.Type', subject: 's', data: {} }),
    delivery('9', 'pending', { id: 'ce-1', type: 'My.CloudType', specversion: '1.0', source: 'x' }),
  ];

  it('lists pending deliveries by default, in a table with event id and type of either schema', async () => {
    canned.reply = () => ({ json: { value: rows } });
    const r = await es('delivery', 'pending', '-o', 'table', '--top', '10');
    expect(sent()).toEqual([
      {
        method: 'GET',
        path: `${ES}/deliveries`,
        query: { 'api-version': V, status: 'pending', top: '10' },
        body: undefined,
      },
    ]);
    expect(r.stdout).toBe(
      [
        'Id  Status   Attempts  NextAttempt               EventId  EventType',
        '--  -------  --------  ------------------------  -------  ------------',
        '7   pending  2         2026-01-01T00:01:00.000Z  ev-1     My.Type',
        '9   pending  2         2026-01-01T00:01:00.000Z  ce-1     My.CloudType',
        '',
      ].join('\n'),
    );
  });

  it('takes --status (or all) and rejects an unknown one', async () => {
    canned.reply = () => ({ json: { value: rows } });
    const dead = await es('delivery', 'pending', '--status', 'DeadLettered');
    const all = await es('delivery', 'pending', '--status', 'all');
    expect(canned.requests.map((q) => q.query)).toEqual([
      { 'api-version': V, status: 'deadlettered' },
      { 'api-version': V },
    ]);
    expect(JSON.parse(dead.stdout)).toEqual(rows);
    expect(all.code).toBe(0);
    const bad = await es('delivery', 'pending', '--status', 'stuck');
    expect(bad).toEqual({
      code: 1,
      stdout: '',
      stderr: "ERROR: --status: 'stuck' is not pending, delivered, deadlettered, dropped or all\n",
    });
    expect(canned.requests).toHaveLength(2);
  });
});

describe('dead-letter', () => {
  const letter = (id: string, eventId: string) => ({
    id,
    deadLetterReason: 'UndeliverableDueToHttpBadRequest',
    deliveryAttempts: 1,
    lastDeliveryOutcome: 'BadRequest',
    lastHttpStatusCode: 400,
    publishTime: '2026-01-01T00:00:00.000Z',
    lastDeliveryAttemptTime: '2026-01-01T00:00:01.000Z',
    record: { id: eventId, eventType: 'My.Type', deadLetterReason: 'UndeliverableDueToHttpBadRequest' },
  });

  it('list renders a table, and JSON keeps the Azure record', async () => {
    canned.reply = () => ({ json: { value: [letter('3', 'ev-1'), letter('12', 'ev-2')] } });
    const table = await es('dead-letter', 'list', '-o', 'table');
    const json = await es('dead-letter', 'list');
    expect(canned.requests.map((q) => [q.method, q.path, q.query])).toEqual([
      ['GET', `${ES}/deadLetters`, { 'api-version': V }],
      ['GET', `${ES}/deadLetters`, { 'api-version': V }],
    ]);
    expect(table.stdout).toBe(
      [
        'Id  Reason                            Attempts  LastOutcome  LastStatus  PublishTime               EventId',
        '--  --------------------------------  --------  -----------  ----------  ------------------------  -------',
        '3   UndeliverableDueToHttpBadRequest  1         BadRequest   400         2026-01-01T00:00:00.000Z  ev-1',
        '12  UndeliverableDueToHttpBadRequest  1         BadRequest   400         2026-01-01T00:00:00.000Z  ev-2',
        '',
      ].join('\n'),
    );
    expect(JSON.parse(json.stdout)).toEqual([letter('3', 'ev-1'), letter('12', 'ev-2')]);
  });

  it('list --all pages through the dead letters', async () => {
    canned.reply = (q) =>
      q.query.after === undefined
        ? { json: { value: [letter('3', 'a')], nextAfter: '3' } }
        : { json: { value: [letter('4', 'b')] } };
    const r = await es('dead-letter', 'list', '--all', '-o', 'tsv');
    expect(canned.requests.map((q) => q.query)).toEqual([
      { 'api-version': V, top: '1000' },
      { 'api-version': V, top: '1000', after: '3' },
    ]);
    expect(r.stdout.split('\n').map((l) => l.split('\t')[0])).toEqual(['3', '4', '']);
  });

  it('redrive POSTs the ids or all, and prints the count', async () => {
    canned.reply = () => ({ json: { redriven: 2 } });
    const ids = await es('dead-letter', 'redrive', '--ids', '3', '12,14');
    const all = await es('dead-letter', 'redrive', '--all', '-o', 'table');
    expect(sent()).toEqual([
      {
        method: 'POST',
        path: `${ES}/redrive`,
        query: { 'api-version': V },
        body: { ids: ['3', '12', '14'] },
      },
      { method: 'POST', path: `${ES}/redrive`, query: { 'api-version': V }, body: { all: true } },
    ]);
    expect(JSON.parse(ids.stdout)).toEqual({ redriven: 2 });
    expect(all.stdout).toBe('Redriven\n--------\n2\n');
  });

  it('redrive wants exactly one of --ids and --all, and numeric ids', async () => {
    const msg = 'ERROR: --ids: give either --ids ID [ID ...] or --all (exactly one of them)\n';
    expect(await es('dead-letter', 'redrive')).toEqual({ code: 1, stdout: '', stderr: msg });
    expect(await es('dead-letter', 'redrive', '--ids', '1', '--all')).toEqual({
      code: 1,
      stdout: '',
      stderr: msg,
    });
    expect((await es('dead-letter', 'redrive', '--ids', 'ev-1')).stderr).toBe(
      "ERROR: --ids: 'ev-1' is not a dead-letter id\n",
    );
    expect(sent()).toEqual([]);
  });
});

describe('replay', () => {
  it('POSTs --from as a UTC date-time and prints the result', async () => {
    canned.reply = (q) => ({ json: { enqueued: 4, from: (q.body as { from: string }).from } });
    const day = await es('replay', '--from', '2000-01-01');
    await es('replay', '--from', '2026-01-31T08:00:00');
    await es('replay', '--from', '2026-01-31T08:00:00+01:00');
    expect(canned.requests.map((q) => [q.method, q.path, q.body])).toEqual([
      ['POST', `${ES}/replay`, { from: '2000-01-01T00:00:00.000Z' }],
      ['POST', `${ES}/replay`, { from: '2026-01-31T08:00:00.000Z' }],
      ['POST', `${ES}/replay`, { from: '2026-01-31T07:00:00.000Z' }],
    ]);
    expect(day).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(day.stdout)).toEqual({ enqueued: 4, from: '2000-01-01T00:00:00.000Z' });
  });

  it('needs a valid --from and reports server errors', async () => {
    const missing = await es('replay');
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/required option '--from <date>' not specified/);
    expect((await es('replay', '--from', '2026-02-30')).stderr).toMatch(
      /^ERROR: --from: '2026-02-30' is not an ISO 8601 date/,
    );
    expect(sent()).toEqual([]);
    canned.reply = () => ({
      status: 404,
      json: { error: { code: 'ResourceNotFound', message: "The event subscription 'sub1' was not found." } },
    });
    expect(await es('replay', '--from', '2026-01-01')).toEqual({
      code: 1,
      stdout: '',
      stderr: "ERROR: ResourceNotFound: The event subscription 'sub1' was not found.\n",
    });
  });
});
