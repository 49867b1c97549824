import { describe, expect, it } from 'vitest';
import { formatOutput, renderTable, toRows } from './output.js';

const topic = (name: string, rg: string, state = 'Succeeded') => ({
  id: `/subscriptions/s/resourceGroups/${rg}/providers/Microsoft.EventGrid/topics/${name}`,
  name,
  type: 'Microsoft.EventGrid/topics',
  location: 'local',
  properties: {
    provisioningState: state,
    endpoint: `http://127.0.0.1:4710/topics/${name}/api/events`,
    inputSchema: 'EventGridSchema',
  },
});

const subscription = {
  id: '/subscriptions/s/.../eventSubscriptions/sub1',
  name: 'sub1',
  type: 'Microsoft.EventGrid/eventSubscriptions',
  properties: {
    provisioningState: 'Succeeded',
    destination: { endpointType: 'WebHook', properties: { endpointBaseUrl: 'http://127.0.0.1:9/hook' } },
    filter: { includedEventTypes: ['A.B', 'C.D'], subjectBeginsWith: 'models/' },
  },
};

describe('table output', () => {
  it('aligns topic columns under a dashed header', () => {
    const text = formatOutput(
      { value: [topic('t1', 'rg'), topic('topic-two', 'ml-rg', 'Creating')] },
      'table',
    );
    expect(text.split('\n')).toEqual([
      'Name       ResourceGroup  Location  ProvisioningState  InputSchema      Endpoint',
      `---------  -------------  --------  -----------------  ---------------  ${'-'.repeat(49)}`,
      't1         rg             local     Succeeded          EventGridSchema  http://127.0.0.1:4710/topics/t1/api/events',
      'topic-two  ml-rg          local     Creating           EventGridSchema  http://127.0.0.1:4710/topics/topic-two/api/events',
      '',
    ]);
  });

  it('shows the useful event subscription columns, joining arrays', () => {
    const { columns, rows } = toRows([subscription]);
    expect(columns).toEqual([
      'Name',
      'ProvisioningState',
      'EndpointType',
      'Endpoint',
      'IncludedEventTypes',
      'SubjectBeginsWith',
      'SubjectEndsWith',
    ]);
    expect(rows).toEqual([
      ['sub1', 'Succeeded', 'WebHook', 'http://127.0.0.1:9/hook', 'A.B,C.D', 'models/', ''],
    ]);
  });

  it('names the queue of a storage queue destination', () => {
    const queue = {
      ...subscription,
      properties: {
        ...subscription.properties,
        destination: { endpointType: 'StorageQueue', properties: { resourceId: '/sa', queueName: 'q1' } },
      },
    };
    expect(toRows(queue).rows[0]?.[3]).toBe('/sa (queue q1)');
  });

  it('renders keys, delivery attributes and unknown objects', () => {
    expect(formatOutput({ key1: 'aaa', key2: 'bbbb' }, 'table')).toBe('Key1  Key2\n----  ----\naaa   bbbb\n');
    const attrs = toRows({
      value: [
        { name: 'x-a', type: 'Static', properties: { value: 'v', isSecret: false } },
        { name: 'x-b', type: 'Dynamic', properties: { sourceField: 'data.id' } },
      ],
    });
    expect(attrs.rows).toEqual([
      ['x-a', 'Static', 'v', '', 'false'],
      ['x-b', 'Dynamic', '', 'data.id', ''],
    ]);
    // Unknown shapes show their top-level scalars, like az.
    expect(formatOutput({ endpointUrl: 'http://h/x?code=1', nested: { a: 1 } }, 'table')).toBe(
      'EndpointUrl\n-----------------\nhttp://h/x?code=1\n',
    );
  });

  it('prints nothing for an empty list and keeps cells on one line', () => {
    expect(formatOutput({ value: [] }, 'table')).toBe('');
    expect(renderTable(['A', 'B'], [['x', 'y']])).toBe('A  B\n-  -\nx  y\n');
    const multi = { ...subscription, name: 'a\tb\nc' };
    expect(toRows(multi).rows[0]?.[0]).toBe('a b c');
  });
});

describe('json, tsv and none', () => {
  it('pretty-prints JSON and prints nothing for undefined', () => {
    expect(formatOutput({ a: [1] }, 'json')).toBe('{\n  "a": [\n    1\n  ]\n}\n');
    expect(formatOutput({ a: 1 }, 'jsonc')).toBe('{\n  "a": 1\n}\n');
    expect(formatOutput(undefined, 'json')).toBe('');
    expect(formatOutput({ a: 1 }, 'none')).toBe('');
  });
  it('writes the table columns tab-separated without a header', () => {
    expect(formatOutput([topic('t1', 'rg')], 'tsv')).toBe(
      't1\trg\tlocal\tSucceeded\tEventGridSchema\thttp://127.0.0.1:4710/topics/t1/api/events\n',
    );
  });
});
