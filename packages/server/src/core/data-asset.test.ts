import { describe, expect, it } from 'vitest';
import {
  inView,
  parseDataContainerPut,
  parseDataUri,
  parseDataVersionPut,
  parseListViewType,
  parseMlTable,
  renderDataContainer,
  renderDataVersion,
  tabularFormatOf,
  type DataVersionSpec,
} from './data-asset.js';
import { MlgridError } from './errors.js';

const WS_ID = '/subscriptions/s/resourceGroups/rg/providers/Microsoft.MachineLearningServices/workspaces/ws1';
const AT = { createdAt: '2025-01-01T00:00:00.000Z', updatedAt: '2025-01-02T00:00:00.000Z' };

function failure(fn: () => unknown): { status: number; target?: string; message: string } {
  try {
    fn();
  } catch (e) {
    if (e instanceof MlgridError) return { status: e.status, target: e.target, message: e.message };
    throw e;
  }
  throw new Error('expected an MlgridError');
}
const version = (props: Record<string, unknown>, current?: DataVersionSpec) =>
  parseDataVersionPut(
    { properties: { dataType: 'uri_file', dataUri: '/d/a.csv', ...props } },
    {
      name: 'd1',
      version: '1',
      current,
    },
  );

describe('dataUri', () => {
  it('normalises absolute paths and file URIs to file:/// without a trailing slash', () => {
    expect(parseDataUri('/data/x.csv', 'u')).toBe('file:///data/x.csv');
    expect(parseDataUri('file:///data//sub/../x.csv', 'u')).toBe('file:///data/x.csv');
    expect(parseDataUri('file://localhost/data/folder/', 'u')).toBe('file:///data/folder');
    expect(parseDataUri('/data/with space/x.csv', 'u')).toBe('file:///data/with%20space/x.csv');
    expect(parseDataUri('file:///data/with%20space', 'u')).toBe('file:///data/with%20space');
  });

  it('refuses Azure datastores, remote schemes, relative paths and the root, naming the field', () => {
    const cases: [unknown, RegExp][] = [
      ['azureml://datastores/workspaceblobstore/paths/a.csv', /azureml:\/\/ URIs .* local data only/],
      ['azureml:my-data:1', /azureml/],
      ['https://x.test/a.csv', /https:\/\/ is not supported/],
      ['wasbs://c@a.blob.core.windows.net/a.csv', /wasbs/],
      ['file://server/share/a.csv', /absolute local path/],
      ['data/a.csv', /absolute path/],
      ['/', /root/],
      ['', /required/],
      [42, /string/],
    ];
    for (const [raw, msg] of cases) {
      const f = failure(() => parseDataUri(raw, 'properties.dataUri'));
      expect(f).toMatchObject({ status: 400, target: 'properties.dataUri' });
      expect(f.message).toMatch(msg);
    }
  });

  it('tells tabular files by extension', () => {
    expect(tabularFormatOf('/a/B.CSV')).toBe('csv');
    expect(tabularFormatOf('/a/b.tsv')).toBe('csv');
    expect(tabularFormatOf('/a/b.parquet')).toBe('parquet');
    expect(tabularFormatOf('/a/b.json')).toBeUndefined();
    expect(tabularFormatOf('/a/parquet')).toBeUndefined();
  });
});

describe('versions', () => {
  it('parses Azure defaults and the type case-insensitively', () => {
    expect(version({ dataType: 'URI_FILE' })).toEqual({
      dataType: 'uri_file',
      dataUri: 'file:///d/a.csv',
      tags: {},
      properties: {},
      isAnonymous: false,
      isArchived: false,
    });
  });

  it('a uri_file must be CSV, TSV or Parquet; referencedUris are for mltable', () => {
    expect(failure(() => version({ dataUri: '/d/a.json' }))).toMatchObject({ target: 'properties.dataUri' });
    expect(failure(() => version({ referencedUris: ['file:///x'] }))).toMatchObject({
      target: 'properties.referencedUris',
    });
    const t = version({ dataType: 'mltable', dataUri: '/d/t', referencedUris: ['file:///d/t/a.csv'] });
    expect(t.referencedUris).toEqual(['file:///d/t/a.csv']);
    expect(
      failure(() => version({ dataType: 'mltable', dataUri: '/d/t', referencedUris: [1] })),
    ).toMatchObject({
      target: 'properties.referencedUris[0]',
    });
  });

  it('a registered version may change description, tags and isArchived only', () => {
    const cur = version({ tags: { a: '1' }, properties: { p: 'x' } });
    expect(
      version({ tags: { a: '2' }, description: 'd', isArchived: true, properties: { p: 'x' } }, cur),
    ).toMatchObject({
      tags: { a: '2' },
      description: 'd',
      isArchived: true,
    });
    for (const [props, target] of [
      [{ dataUri: '/d/b.csv', properties: { p: 'x' } }, 'properties.dataUri'],
      [{ properties: { p: 'y' } }, 'properties.properties'],
      [{ properties: { p: 'x' }, isAnonymous: true }, 'properties.isAnonymous'],
      [{ dataType: 'uri_folder', dataUri: '/d', properties: { p: 'x' } }, 'properties.dataType'],
    ] as const) {
      expect(failure(() => version(props, cur))).toMatchObject({ status: 400, target });
    }
    const table = version({ dataType: 'mltable', dataUri: '/d/t', referencedUris: ['file:///d/t/a.csv'] });
    const restated = version({ dataType: 'mltable', dataUri: '/d/t' }, table);
    expect(restated.referencedUris).toEqual(['file:///d/t/a.csv']);
    expect(
      failure(() => version({ dataType: 'mltable', dataUri: '/d/t', referencedUris: [] }, table)),
    ).toMatchObject({ target: 'properties.referencedUris' });
  });

  it('names the field at fault', () => {
    expect(failure(() => parseDataVersionPut({}, { name: 'd', version: '1' }))).toMatchObject({
      target: 'properties',
    });
    expect(failure(() => version({ dataType: undefined }))).toMatchObject({ target: 'properties.dataType' });
    expect(failure(() => version({ tags: { k: 1 } }))).toMatchObject({ target: 'properties.tags.k' });
    expect(failure(() => version({ isArchived: 'yes' }))).toMatchObject({ target: 'properties.isArchived' });
    expect(
      failure(() => parseDataVersionPut({ properties: {} }, { name: '-x', version: '1' })),
    ).toMatchObject({
      target: 'name',
    });
    expect(
      failure(() => parseDataVersionPut({ properties: {} }, { name: 'x', version: 'a/b' })),
    ).toMatchObject({
      target: 'version',
    });
  });

  it('renders the 2022-10-01 shape with the summary apart from Azure properties', () => {
    const spec = version({ description: 'd', tags: { t: '1' } });
    const summary = {
      fileCount: 1,
      rowCount: 2,
      sizeBytes: 3,
      columns: [{ name: 'a', type: 'integer' as const }],
    };
    const out = renderDataVersion(
      { ...spec, summary },
      { workspaceId: WS_ID, name: 'd1', version: '1', ...AT },
    );
    expect(out).toEqual({
      id: `${WS_ID}/data/d1/versions/1`,
      name: '1',
      type: 'Microsoft.MachineLearningServices/workspaces/data/versions',
      systemData: { createdAt: AT.createdAt, lastModifiedAt: AT.updatedAt },
      properties: {
        dataType: 'uri_file',
        dataUri: 'file:///d/a.csv',
        description: 'd',
        tags: { t: '1' },
        properties: {},
        isAnonymous: false,
        isArchived: false,
        mlgridSummary: summary,
      },
    });
  });
});

describe('containers', () => {
  it('require a dataType, which cannot change once versions exist', () => {
    expect(failure(() => parseDataContainerPut({ properties: {} }, { name: 'c' }))).toMatchObject({
      target: 'properties.dataType',
    });
    const cur = parseDataContainerPut({ properties: { dataType: 'uri_file' } }, { name: 'c' });
    expect(
      parseDataContainerPut({ properties: { dataType: 'mltable' } }, { name: 'c', current: cur }).dataType,
    ).toBe('mltable');
    expect(
      failure(() =>
        parseDataContainerPut(
          { properties: { dataType: 'mltable' } },
          { name: 'c', current: cur, hasVersions: true },
        ),
      ),
    ).toMatchObject({ target: 'properties.dataType' });
  });

  it('render latestVersion (last created) and nextVersion (largest integer + 1)', () => {
    const spec = parseDataContainerPut(
      { properties: { dataType: 'uri_folder', description: 'x' } },
      { name: 'c' },
    );
    const out = renderDataContainer(spec, { workspaceId: WS_ID, name: 'c', ...AT, versions: ['3', 'v2'] });
    expect(out.properties).toEqual({
      dataType: 'uri_folder',
      description: 'x',
      tags: {},
      properties: {},
      isArchived: false,
      latestVersion: 'v2',
      nextVersion: '4',
    });
    expect(
      renderDataContainer(spec, { workspaceId: WS_ID, name: 'c', ...AT, versions: [] }).properties,
    ).not.toHaveProperty('latestVersion');
  });

  it('listViewType: ActiveOnly by default', () => {
    expect(parseListViewType(undefined)).toBe('ActiveOnly');
    expect(parseListViewType('all')).toBe('All');
    expect(failure(() => parseListViewType('x'))).toMatchObject({ target: 'listViewType' });
    expect([inView(true, 'ActiveOnly'), inView(true, 'ArchivedOnly'), inView(false, 'All')]).toEqual([
      false,
      true,
      true,
    ]);
  });
});

describe('MLTable', () => {
  it('reads paths and the read_delimited / read_parquet subset', () => {
    const spec = parseMlTable(
      `paths:\n  - file: ./a.csv\n  - folder: /data/parts\n  - pattern: ./x/**/*.tsv\ntransformations:\n  - read_delimited:\n      delimiter: "\\t"\n      header: no_header\n      encoding: UTF-8\n`,
      't',
    );
    expect(spec).toEqual({
      paths: [
        { kind: 'file', value: './a.csv' },
        { kind: 'folder', value: '/data/parts' },
        { kind: 'pattern', value: './x/**/*.tsv' },
      ],
      format: 'csv',
      delimiter: '\t',
      header: false,
    });
    expect(
      parseMlTable('paths:\n  - file: a.parquet\ntransformations:\n  - read_parquet\n', 't').format,
    ).toBe('parquet');
    expect(parseMlTable('type: mltable\npaths:\n  - folder: .\n', 't')).toEqual({
      paths: [{ kind: 'folder', value: '.' }],
      delimiter: ',',
      header: true,
    });
  });

  it('refuses what it does not read, naming the entry', () => {
    const cases: [string, RegExp][] = [
      ['paths: [', /not valid YAML/],
      ['- a', /paths:/],
      ['paths: []', /non-empty/],
      ['paths:\n  - file: a.csv\n    folder: b', /paths\[0\] must have exactly one/],
      ['paths:\n  - uri: a.csv', /paths\[0\]/],
      ['paths:\n  - file: azureml://datastores/x/paths/a.csv', /paths\[0\]\.file must be a local path/],
      ['paths:\n  - file: https://x.test/a.csv', /local path/],
      ['paths:\n  - file: a.csv\ntransformations:\n  - take: 10', /'take' is not supported/],
      ['paths:\n  - file: a.csv\ntransformations:\n  - read_delimited:\n      quote: x', /option 'quote'/],
      [
        'paths:\n  - file: a.csv\ntransformations:\n  - read_delimited:\n      delimiter: ab',
        /one character/,
      ],
      ['paths:\n  - file: a.csv\ntransformations:\n  - read_delimited:\n      header: yes', /header must be/],
      ['paths:\n  - file: a.csv\ntransformations:\n  - read_delimited:\n      encoding: latin1', /utf8/],
      ['paths:\n  - file: a.csv\ntransformations:\n  - read_parquet\n  - read_delimited', /only one/],
    ];
    for (const [text, msg] of cases) {
      const f = failure(() => parseMlTable(text, 'properties.dataUri'));
      expect(f.target).toBe('properties.dataUri');
      expect(f.message).toMatch(msg);
    }
  });
});
