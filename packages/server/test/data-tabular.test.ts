/**
 * The tabular reader on the committed CSV and Parquet fixtures (and a few files made here): file listing,
 * describe, columns, rows and time windows, compared with the rows the fixtures were written from.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { asyncBufferFromFile, parquetMetadataAsync } from 'hyparquet';
import { afterAll, describe, expect, it } from 'vitest';
import { globToRegExp } from '../src/data/files.js';
import { DatasetError, openDataset, type DatasetSource } from '../src/data/tabular.js';
import { BASELINE, PARTS, TABLE, TARGET, type Row } from './fixtures/data/source.js';
import { tempDir } from './helpers/tmp.js';

const FIX = fileURLToPath(new URL('./fixtures/data/', import.meta.url));
const src = (type: DatasetSource['type'], rel: string): DatasetSource => ({
  type,
  uri: pathToFileURL(join(FIX, rel)).href,
});
const TYPES = [
  { name: 'ts', type: 'timestamp' },
  { name: 'age', type: 'integer' },
  { name: 'income', type: 'number' },
  { name: 'city', type: 'string' },
  { name: 'active', type: 'boolean' },
];
const FIXTURES: [string, DatasetSource, Row[]][] = [
  ['baseline.csv', src('uri_file', 'baseline.csv'), BASELINE],
  ['target.parquet (3 row groups)', src('uri_file', 'target.parquet'), TARGET],
  ['target-gzip.parquet (GZIP, µs)', src('uri_file', 'target-gzip.parquet'), TARGET],
  // Sorted by path: nested/part-002.parquet comes first.
  ['parts/ folder', src('uri_folder', 'parts'), [...PARTS.slice(15), ...PARTS.slice(0, 15)]],
  ['table/ MLTable', src('mltable', 'table'), TABLE],
];

const tmp = tempDir('mlgrid-tabular-');
afterAll(() => tmp.cleanup());
const write = (rel: string, text: string) => {
  const p = join(tmp.dir, rel);
  mkdirSync(join(p, '..'), { recursive: true });
  writeFileSync(p, text);
  return p;
};
const folder = (rel: string): DatasetSource => ({ type: 'uri_folder', uri: join(tmp.dir, rel) });
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(DatasetError);
    return (e as Error).message;
  }
  throw new Error('expected a DatasetError');
}

describe('files', () => {
  it('a folder is its CSV/TSV/Parquet files, recursively and sorted, without hidden or _ names', async () => {
    const ds = await openDataset(src('uri_folder', 'parts'));
    expect(ds.files.map((f) => [f.path.slice(FIX.length), f.format])).toEqual([
      ['parts/nested/part-002.parquet', 'parquet'],
      ['parts/part-000.csv', 'csv'],
      ['parts/part-001.csv', 'csv'],
    ]);
    expect(ds.referencedUris).toBeUndefined();
  });

  it('an MLTable is what its paths name, read as its transformation says', async () => {
    const ds = await openDataset(src('mltable', 'table'));
    expect(ds.files.map((f) => [f.path.slice(FIX.length), f.format, f.delimiter])).toEqual([
      ['table/data/2025-01-04.csv', 'csv', ';'],
      ['table/data/2025-01-05.csv', 'csv', ';'],
    ]);
    expect(ds.referencedUris).toEqual([pathToFileURL(join(FIX, 'table/data/*.csv')).href]);
  });

  it('globs: ** spans folders, * and ? stay within a name', () => {
    const { base, re } = globToRegExp('/d/x/**/*.csv');
    expect(base).toBe('/d/x');
    expect(['/d/x/a.csv', '/d/x/y/z/a.csv', '/d/x/a.tsv', '/d/xa.csv'].map((p) => re.test(p))).toEqual([
      true,
      true,
      false,
      false,
    ]);
    expect(globToRegExp('/d/p?rt-*.csv').re.test('/d/part-1.csv')).toBe(true);
    expect(globToRegExp('/d/p?rt-*.csv').re.test('/d/part-1/x.csv')).toBe(false);
  });
});

describe.each(FIXTURES)('%s', (_label, source, rows) => {
  it('describes columns with types, rows and bytes', async () => {
    const ds = await openDataset(source);
    const summary = await ds.describe();
    expect(summary).toEqual({
      fileCount: ds.files.length,
      rowCount: rows.length,
      sizeBytes: ds.files.reduce((n, f) => n + statSync(f.path).size, 0),
      columns: TYPES,
    });
  });

  it('reads columns: numbers as Float64Array with NaN, text with null, timestamps as epoch ms', async () => {
    const ds = await openDataset(source);
    const got = await ds.readColumns([
      'ts',
      'age',
      'income',
      'city',
      'active',
      { name: 'age', as: 'string' },
    ]);
    expect(got.rowCount).toBe(rows.length);
    const col = (n: string) => got.columns.get(n)!;
    expect(col('ts')).toEqual({
      name: 'ts',
      kind: 'number',
      values: Float64Array.from(rows.map((r) => r.ts)),
    });
    expect(col('income').values).toEqual(Float64Array.from(rows.map((r) => r.income ?? NaN)));
    expect(col('city')).toEqual({ name: 'city', kind: 'string', values: rows.map((r) => r.city) });
    expect(col('active').values).toEqual(rows.map((r) => String(r.active)));
    // The later request for 'age' (as text) wins the name.
    expect(col('age')).toEqual({ name: 'age', kind: 'string', values: rows.map((r) => String(r.age)) });
  });

  it('reads only the rows whose timestamp is in [start, end)', async () => {
    const ds = await openDataset(source);
    const start = rows[3]!.ts;
    const end = rows[9]!.ts;
    const inWindow = rows.filter((r) => r.ts >= start && r.ts < end);
    const got = await ds.readColumns(['age'], {
      where: { column: 'ts', start: new Date(start).toISOString(), end: new Date(end) },
    });
    expect(got.rowCount).toBe(inWindow.length);
    expect(got.columns.get('age')!.values).toEqual(Float64Array.from(inWindow.map((r) => r.age)));
    const open = await ds.readColumns(['ts'], { where: { column: 'ts', start } });
    expect(open.rowCount).toBe(rows.filter((r) => r.ts >= start).length);
  });

  it('iterates typed rows', async () => {
    const ds = await openDataset(source);
    const got: unknown[] = [];
    for await (const row of ds.rows()) got.push(row);
    expect(got).toEqual(rows.map((r) => ({ ...r, ts: new Date(r.ts).toISOString() })));
  });
});

describe('reading', () => {
  it('streams CSV in bounded batches', async () => {
    const ds = await openDataset(src('uri_file', 'baseline.csv'));
    const sizes: number[] = [];
    for await (const b of ds.batches(['age'], { batchSize: 5 })) sizes.push(b.length);
    expect(sizes).toEqual([5, 5, 5, 5, 4]);
  });

  it('skips Parquet row groups whose timestamp statistics are outside the window, unread', async () => {
    // Garble the first row group's pages: reading it fails, so a window read that succeeds did not read it.
    const bytes = readFileSync(join(FIX, 'target.parquet'));
    const meta = await parquetMetadataAsync(await asyncBufferFromFile(join(FIX, 'target.parquet')));
    for (const c of meta.row_groups[0]!.columns) {
      const at = Number(c.meta_data!.data_page_offset);
      bytes.fill(0xff, at, at + Number(c.meta_data!.total_compressed_size));
    }
    const p = write('garbled.parquet', '');
    writeFileSync(p, bytes);
    const ds = await openDataset({ type: 'uri_file', uri: p });
    const later = TARGET.slice(10);
    const got = await ds.readColumns(['age'], { where: { column: 'ts', start: later[0]!.ts } });
    expect(got.columns.get('age')!.values).toEqual(Float64Array.from(later.map((r) => r.age)));
    expect(await failure(ds.readColumns(['age']))).toMatch(/garbled\.parquet/);
  });

  it('unions the columns of a folder by name, widening types; a file without a column gives missing values', async () => {
    write('union/a.csv', 'x,y\n1,2\n3,4\n');
    write('union/b.tsv', 'y\tz\n2.5\thello\n\tNA\n');
    const ds = await openDataset(folder('union'));
    expect((await ds.describe()).columns).toEqual([
      { name: 'x', type: 'integer' },
      { name: 'y', type: 'number' },
      { name: 'z', type: 'string' },
    ]);
    const got = await ds.readColumns(['x', 'y', 'z']);
    expect(got.columns.get('x')!.values).toEqual(Float64Array.from([1, 3, NaN, NaN]));
    expect(got.columns.get('y')!.values).toEqual(Float64Array.from([2, 4, 2.5, NaN]));
    expect(got.columns.get('z')!.values).toEqual([null, null, 'hello', null]);
  });

  it('an MLTable without a header line names columns Column1, Column2, …', async () => {
    write(
      'nohead/MLTable',
      'paths:\n  - file: ./d.txt\ntransformations:\n  - read_delimited:\n      header: no_header\n',
    );
    write('nohead/d.txt', '1,a\n2,b\n');
    const ds = await openDataset({ type: 'mltable', uri: join(tmp.dir, 'nohead') });
    expect((await ds.describe()).columns).toEqual([
      { name: 'Column1', type: 'integer' },
      { name: 'Column2', type: 'string' },
    ]);
  });

  it('uses a schema it is given (a registration summary) instead of typing the CSV again', async () => {
    const ds = await openDataset(src('uri_file', 'baseline.csv'), {
      columns: [{ name: 'age', type: 'string' }],
    });
    expect((await ds.readColumns(['age'])).columns.get('age')!.kind).toBe('string');
  });

  it('says what is wrong, naming the column or the file', async () => {
    const ds = await openDataset(src('uri_file', 'target.parquet'));
    expect(await failure(ds.readColumns(['nope']))).toMatch(
      /column 'nope' is not in the dataset \(columns: ts, age/,
    );
    expect(await failure(ds.readColumns(['age'], { where: { column: 'age', start: 0 } }))).toMatch(
      /'age' is integer, not a timestamp/,
    );
    expect(await failure(ds.readColumns(['age'], { where: { column: 'ts', end: 'tomorrow' } }))).toMatch(
      /where\.end/,
    );
    write('dup/a.csv', 'a,a\n1,2\n');
    expect(await failure((await openDataset(folder('dup'))).describe())).toMatch(/'a' appears twice/);
    write('missing/MLTable', 'paths:\n  - file: ./gone.csv\n');
    expect(await failure(openDataset({ type: 'mltable', uri: join(tmp.dir, 'missing') }))).toMatch(
      /gone\.csv does not exist/,
    );
    write('nomatch/MLTable', 'paths:\n  - pattern: ./*.parquet\n');
    expect(await failure(openDataset({ type: 'mltable', uri: join(tmp.dir, 'nomatch') }))).toMatch(
      /matches no file/,
    );
    write('badml/MLTable', 'paths:\n  - file: ./a.csv\ntransformations:\n  - drop_columns: [a]\n');
    expect(await failure(openDataset({ type: 'mltable', uri: join(tmp.dir, 'badml') }))).toMatch(
      /badml\/MLTable: .*'drop_columns' is not supported/,
    );
    expect(await failure(openDataset({ type: 'uri_file', uri: join(tmp.dir, 'union') }))).toMatch(
      /is not a file/,
    );
  });
});
