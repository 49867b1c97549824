/** `mlgrid eventgrid ...` end to end over real HTTP against a recording stand-in for the server. */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { useCannedServer, type Recorded, type Reply } from './helpers/canned-server.js';
import { runCli } from '../src/cli/program.js';

const KEY = 'admin-key-123';
const SUB = '11111111-2222-3333-4444-555555555555';
const RG_PATH = `/subscriptions/${SUB}/resourceGroups/rg1/providers/Microsoft.EventGrid`;
const WS =
  '/subscriptions/{subId}/resourceGroups/{rgName}/providers/Microsoft.MachineLearningServices/workspaces/{wsName}';
const WS_ENCODED =
  '/subscriptions/%7BsubId%7D/resourceGroups/%7BrgName%7D/providers/Microsoft.MachineLearningServices/workspaces/%7BwsName%7D';
const SUB1_PATH = `${WS_ENCODED}/providers/Microsoft.EventGrid/eventSubscriptions/sub1`;

const canned = useCannedServer();

async function mlgrid(...args: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runCli(args, { stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}
const conn = () => ['--server', canned.url, '--key', KEY, '--subscription', SUB];

const topicOut = (name: string) => ({
  id: `${RG_PATH}/topics/${name}`,
  name,
  type: 'Microsoft.EventGrid/topics',
  location: 'local',
  properties: {
    provisioningState: 'Succeeded',
    endpoint: `${canned.url}/topics/${name}/api/events`,
    inputSchema: 'EventGridSchema',
  },
});

describe('topic commands', () => {
  it('create sends the ARM PUT with api-version, Bearer key and body, and prints the resource', async () => {
    canned.reply = () => ({ status: 201, json: topicOut('t1') });
    const r = await mlgrid(
      'eventgrid',
      'topic',
      'create',
      '-n',
      't1',
      '-g',
      'rg1',
      '--tags',
      'team=ml',
      ...conn(),
    );
    expect(r).toMatchObject({ code: 0, stderr: '' });
    expect(canned.requests).toHaveLength(1);
    const [req] = canned.requests;
    expect(req).toMatchObject({
      method: 'PUT',
      path: `${RG_PATH}/topics/t1`,
      query: { 'api-version': '2022-06-15' },
      body: { location: 'local', tags: { team: 'ml' }, properties: { inputSchema: 'EventGridSchema' } },
    });
    expect(req?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(req?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(r.stdout)).toEqual(topicOut('t1'));
  });

  it('list covers a resource group or the subscription and renders a table', async () => {
    canned.reply = () => ({ json: { value: [topicOut('t1')] } });
    const byRg = await mlgrid('eventgrid', 'topic', 'list', '-g', 'rg1', '-o', 'table', ...conn());
    const all = await mlgrid('eventgrid', 'topic', 'list', '--odata-query', "name eq 't1'", ...conn());
    expect(canned.requests.map((q) => [q.method, q.path])).toEqual([
      ['GET', `${RG_PATH}/topics`],
      ['GET', `/subscriptions/${SUB}/providers/Microsoft.EventGrid/topics`],
    ]);
    expect(canned.requests[1]?.query).toEqual({ 'api-version': '2022-06-15', $filter: "name eq 't1'" });
    expect(byRg.stdout.split('\n')[0]).toBe(
      'Name  ResourceGroup  Location  ProvisioningState  InputSchema      Endpoint',
    );
    expect(byRg.stdout.split('\n')[2]).toBe(
      `t1    rg1            local     Succeeded          EventGridSchema  ${canned.url}/topics/t1/api/events`,
    );
    expect(JSON.parse(all.stdout)).toEqual([topicOut('t1')]);
  });

  it('show, update, delete and key operations hit the right routes', async () => {
    canned.reply = (q) =>
      q.path.endsWith('/listKeys') || q.path.endsWith('/regenerateKey')
        ? { json: { key1: 'k1', key2: 'k2' } }
        : q.method === 'DELETE'
          ? { status: 204 }
          : { json: topicOut('t1') };
    const n = ['-n', 't1', '-g', 'rg1', ...conn()];
    expect((await mlgrid('eventgrid', 'topic', 'show', ...n)).code).toBe(0);
    expect((await mlgrid('eventgrid', 'topic', 'update', '--tags', 'a=1', 'b', ...n)).code).toBe(0);
    const del = await mlgrid('eventgrid', 'topic', 'delete', ...n);
    const keys = await mlgrid('eventgrid', 'topic', 'key', 'list', ...n);
    const regen = await mlgrid('eventgrid', 'topic', 'key', 'regenerate', '--key-name', 'KEY2', ...n);
    expect(canned.requests.map((q) => [q.method, q.path.slice(RG_PATH.length), q.body])).toEqual([
      ['GET', '/topics/t1', undefined],
      ['PATCH', '/topics/t1', { tags: { a: '1', b: '' } }],
      ['DELETE', '/topics/t1', undefined],
      ['POST', '/topics/t1/listKeys', undefined],
      ['POST', '/topics/t1/regenerateKey', { keyName: 'key2' }],
    ]);
    expect(del).toEqual({ code: 0, stdout: '', stderr: '' });
    expect(JSON.parse(keys.stdout)).toEqual({ key1: 'k1', key2: 'k2' });
    expect(regen.code).toBe(0);
  });
});

describe('event-subscription commands', () => {
  const subOut = {
    id: `${WS}/providers/Microsoft.EventGrid/eventSubscriptions/sub1`,
    name: 'sub1',
    type: 'Microsoft.EventGrid/eventSubscriptions',
    properties: {
      provisioningState: 'Succeeded',
      destination: {
        endpointType: 'WebHook',
        properties: {
          endpointBaseUrl: 'http://127.0.0.1:9/hook',
          maxEventsPerBatch: 1,
          deliveryAttributeMappings: [{ name: 'x-token', type: 'Static', properties: { isSecret: true } }],
        },
      },
      filter: { includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'] },
      retryPolicy: { maxDeliveryAttempts: 30, eventTimeToLiveInMinutes: 1440 },
    },
  };
  const secretAttrs = {
    value: [{ name: 'x-token', type: 'Static', properties: { value: 's3cret', isSecret: true } }],
  };
  const serve = (q: Recorded): Reply =>
    q.path.endsWith('/getFullUrl')
      ? { json: { endpointUrl: 'http://127.0.0.1:9/hook?code=abc' } }
      : q.path.endsWith('/getDeliveryAttributes')
        ? { json: secretAttrs }
        : { json: subOut };

  it('runs the seed doc example verbatim (az replaced by mlgrid)', async () => {
    canned.reply = () => ({ status: 201, json: subOut });
    const r = await mlgrid(
      'eventgrid',
      'event-subscription',
      'create',
      '--name',
      'sub1',
      '--source-resource-id',
      '/subscriptions/{subId}/resourceGroups/{rgName}/ \\providers/Microsoft.MachineLearningServices/workspaces/{wsName}',
      '--endpoint',
      'http://127.0.0.1:9/hook',
      '--included-event-types',
      'Microsoft.MachineLearningServices.ModelRegistered',
      '--subject-begins-with',
      'models/mymodelname',
      '--server',
      canned.url,
      '--key',
      KEY,
    );
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(canned.requests).toEqual([
      expect.objectContaining({
        method: 'PUT',
        path: SUB1_PATH,
        query: { 'api-version': '2022-06-15' },
        body: {
          properties: {
            destination: { endpointType: 'WebHook', properties: { endpointUrl: 'http://127.0.0.1:9/hook' } },
            filter: {
              includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'],
              subjectBeginsWith: 'models/mymodelname',
            },
          },
        },
      }),
    ]);
    expect(canned.requests[0]?.headers.authorization).toBe(`Bearer ${KEY}`);
    expect(JSON.parse(r.stdout)).toEqual(subOut);
  });

  it('show adds the full URL and the secret attribute values when asked', async () => {
    canned.reply = serve;
    const r = await mlgrid(
      'eventgrid',
      'event-subscription',
      'show',
      '-n',
      'sub1',
      '--source-resource-id',
      WS,
      '--include-full-endpoint-url',
      '--include-static-delivery-attribute-secret',
      ...conn(),
    );
    expect(r.code).toBe(0);
    expect(canned.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      `GET ${SUB1_PATH}`,
      `POST ${SUB1_PATH}/getFullUrl`,
      `POST ${SUB1_PATH}/getDeliveryAttributes`,
    ]);
    const shown = JSON.parse(r.stdout);
    expect(shown.properties.destination.properties.endpointUrl).toBe('http://127.0.0.1:9/hook?code=abc');
    expect(shown.properties.destination.properties.deliveryAttributeMappings).toEqual(secretAttrs.value);
  });

  it('list takes --topic-name -g as shorthand for a custom topic scope', async () => {
    canned.reply = () => ({ json: { value: [subOut] } });
    const r = await mlgrid(
      'eventgrid',
      'event-subscription',
      'list',
      '--topic-name',
      't1',
      '-g',
      'rg1',
      '-o',
      'tsv',
      ...conn(),
    );
    expect(canned.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      `GET ${RG_PATH}/topics/t1/providers/Microsoft.EventGrid/eventSubscriptions`,
    ]);
    expect(r.stdout).toBe(
      'sub1\tSucceeded\tWebHook\thttp://127.0.0.1:9/hook\tMicrosoft.MachineLearningServices.ModelRegistered\t\t\n',
    );
  });

  it('update PATCHes only the given settings, keeping the full URL and secrets of the destination', async () => {
    canned.reply = serve;
    const r = await mlgrid(
      'eventgrid',
      'event-subscription',
      'update',
      '-n',
      'sub1',
      '--source-resource-id',
      WS,
      '--max-events-per-batch',
      '10',
      '--advanced-filter',
      'data.runType',
      'StringIn',
      'automl',
      '--labels',
      'prod',
      ...conn(),
    );
    expect(r.stderr).toBe('');
    expect(canned.requests.map((q) => `${q.method} ${q.path}`)).toEqual([
      `GET ${SUB1_PATH}`,
      `POST ${SUB1_PATH}/getFullUrl`,
      `POST ${SUB1_PATH}/getDeliveryAttributes`,
      `PATCH ${SUB1_PATH}`,
    ]);
    expect(canned.requests[3]?.body).toEqual({
      labels: ['prod'],
      destination: {
        endpointType: 'WebHook',
        properties: {
          endpointUrl: 'http://127.0.0.1:9/hook?code=abc',
          maxEventsPerBatch: 10,
          deliveryAttributeMappings: secretAttrs.value,
        },
      },
      filter: {
        includedEventTypes: ['Microsoft.MachineLearningServices.ModelRegistered'],
        advancedFilters: [{ operatorType: 'StringIn', key: 'data.runType', values: ['automl'] }],
      },
    });
  });

  it('update of plain fields sends a single PATCH; delete prints nothing', async () => {
    canned.reply = (q) => (q.method === 'DELETE' ? { status: 200 } : { json: subOut });
    const upd = await mlgrid(
      'eventgrid',
      'event-subscription',
      'update',
      '-n',
      'sub1',
      '--source-resource-id',
      WS,
      '--expiration-date',
      '2030-01-01',
      '--event-delivery-schema',
      'cloudeventschemav1_0',
      ...conn(),
    );
    const del = await mlgrid(
      'eventgrid',
      'event-subscription',
      'delete',
      '-n',
      'sub1',
      '--source-resource-id',
      WS,
      ...conn(),
    );
    expect(canned.requests.map((q) => [q.method, q.path, q.body])).toEqual([
      [
        'PATCH',
        SUB1_PATH,
        { expirationTimeUtc: '2030-01-01T00:00:00.000Z', eventDeliverySchema: 'CloudEventSchemaV1_0' },
      ],
      ['DELETE', SUB1_PATH, undefined],
    ]);
    expect(upd.code).toBe(0);
    expect(del).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});

describe('failures', () => {
  it('prints an ARM error envelope as ERROR: code: message and exits 1', async () => {
    canned.reply = () => ({
      status: 404,
      json: { error: { code: 'ResourceNotFound', message: "The topic 'nope' was not found.", details: [] } },
    });
    const r = await mlgrid('eventgrid', 'topic', 'show', '-n', 'nope', '-g', 'rg1', ...conn());
    expect(r).toEqual({
      code: 1,
      stdout: '',
      stderr: "ERROR: ResourceNotFound: The topic 'nope' was not found.\n",
    });
  });

  it('reports a non-ARM error body with its status, and never prints the key', async () => {
    canned.reply = (q) => ({ status: 502, text: `bad gateway for ${String(q.headers.authorization)}` });
    const r = await mlgrid('eventgrid', 'topic', 'show', '-n', 't1', '-g', 'rg1', ...conn());
    expect(r.code).toBe(1);
    expect(r.stderr).toBe('ERROR: Http502: HTTP 502 Bad Gateway bad gateway for Bearer ***\n');
    expect(r.stderr).not.toContain(KEY);
  });

  it('names the server URL when nothing listens there', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const r = await mlgrid('eventgrid', 'topic', 'list', '--server', deadUrl, '--key', KEY);
    expect(r.code).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(
      new RegExp(`^ERROR: cannot reach the mlgrid server at ${deadUrl}: .*ECONNREFUSED`),
    );
    expect(r.stderr).not.toContain(KEY);
  });

  it('rejects usage errors before any request and returns commander exit codes', async () => {
    const bad = await mlgrid(
      'eventgrid',
      'event-subscription',
      'create',
      '-n',
      's',
      '--endpoint',
      'http://h/x',
      '--max-delivery-attempts',
      'many',
      ...conn(),
    );
    expect(bad).toEqual({
      code: 1,
      stdout: '',
      stderr: "ERROR: --max-delivery-attempts: 'many' is not an integer between 1 and 30\n",
    });
    const missing = await mlgrid('eventgrid', 'topic', 'show', '-n', 't1', ...conn());
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/-g\/--resource-group is required.*mlgrid configure --defaults group=/);
    const help = await mlgrid('eventgrid', 'topic', 'create', '--help');
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--input-mapping-default-values/);
    expect((await mlgrid('eventgrid', 'nope')).code).toBe(1);
    expect(canned.requests).toHaveLength(0);
  });
});

describe('defaults and hooks', () => {
  it('reads MLGRID_SERVER, MLGRID_KEY and MLGRID_SUBSCRIPTION when flags are absent', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, {
      MLGRID_SERVER: canned.url,
      MLGRID_KEY: 'env-key',
      MLGRID_SUBSCRIPTION: 'env-sub',
    });
    try {
      canned.reply = () => ({ json: { value: [] } });
      const r = await mlgrid('eventgrid', 'topic', 'list');
      expect(r).toEqual({ code: 0, stdout: '[]\n', stderr: '' });
      expect(canned.requests[0]?.path).toBe('/subscriptions/env-sub/providers/Microsoft.EventGrid/topics');
      expect(canned.requests[0]?.headers.authorization).toBe('Bearer env-key');
    } finally {
      process.env = saved;
    }
  });

  it('defaults the subscription and lets extra() add commands', async () => {
    canned.reply = () => ({ json: { value: [] } });
    let ran = false;
    const code = await runCli(
      ['extra-cmd'],
      { stdout: () => undefined, stderr: () => undefined },
      (p) => void p.command('extra-cmd').action(() => void (ran = true)),
    );
    expect([code, ran]).toEqual([0, true]);
    const saved = { ...process.env };
    for (const k of ['MLGRID_SERVER', 'MLGRID_KEY', 'MLGRID_SUBSCRIPTION']) delete process.env[k];
    try {
      await mlgrid('eventgrid', 'event-subscription', 'list', '--server', canned.url);
    } finally {
      process.env = saved;
    }
    expect(canned.requests[0]?.path).toBe(
      '/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.EventGrid/eventSubscriptions',
    );
    expect(canned.requests[0]?.headers.authorization).toBeUndefined();
  });
});
