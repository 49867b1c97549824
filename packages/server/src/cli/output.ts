/** CLI output: where text goes (CliIo) and how results look (`-o json|jsonc|table|tsv|none`, az's formats). */

export interface CliIo {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  /** Defaults to the global fetch; tests pass a fake. */
  fetch?: typeof fetch;
  /** Receives a failing command's exit code. Left out, nobody is told (runCli supplies one). */
  setExitCode?: (code: number) => void;
}

/** The real process: used when main.ts registers commands without an io. */
export function processIo(): CliIo {
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
    setExitCode: (code) => {
      process.exitCode = code;
    },
  };
}

export const OUTPUT_FORMATS = ['json', 'jsonc', 'table', 'tsv', 'none'] as const;
export type OutputFormat = (typeof OUTPUT_FORMATS)[number];

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function str(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(str).join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

function at(v: unknown, ...path: string[]): unknown {
  let cur = v;
  for (const key of path) cur = isObject(cur) ? cur[key] : undefined;
  return cur;
}

const resourceGroupOf = (id: unknown) => /\/resourceGroups\/([^/]+)/i.exec(str(id))?.[1] ?? '';

interface View {
  columns: string[];
  row: (item: Json) => unknown[];
}

/** The columns worth a glance per resource kind; anything else shows its top-level scalars (as az does). */
const VIEWS: { when: (item: Json) => boolean; view: View }[] = [
  {
    when: (i) => str(i.type).toLowerCase() === 'microsoft.eventgrid/topics',
    view: {
      columns: ['Name', 'ResourceGroup', 'Location', 'ProvisioningState', 'InputSchema', 'Endpoint'],
      row: (i) => {
        const p = i.properties;
        return [
          i.name,
          resourceGroupOf(i.id),
          i.location,
          at(p, 'provisioningState'),
          at(p, 'inputSchema'),
          at(p, 'endpoint'),
        ];
      },
    },
  },
  {
    when: (i) => str(i.type).toLowerCase() === 'microsoft.eventgrid/eventsubscriptions',
    view: {
      columns: [
        'Name',
        'ProvisioningState',
        'EndpointType',
        'Endpoint',
        'IncludedEventTypes',
        'SubjectBeginsWith',
        'SubjectEndsWith',
      ],
      row: (i) => {
        const d = at(i, 'properties', 'destination', 'properties');
        const queue = at(d, 'queueName');
        const endpoint =
          at(d, 'endpointUrl') ??
          at(d, 'endpointBaseUrl') ??
          (queue ? `${str(at(d, 'resourceId'))} (queue ${str(queue)})` : at(d, 'resourceId'));
        const f = at(i, 'properties', 'filter');
        return [
          i.name,
          at(i, 'properties', 'provisioningState'),
          at(i, 'properties', 'destination', 'endpointType'),
          endpoint,
          at(f, 'includedEventTypes'),
          at(f, 'subjectBeginsWith'),
          at(f, 'subjectEndsWith'),
        ];
      },
    },
  },
  {
    when: (i) => 'key1' in i && 'key2' in i,
    view: { columns: ['Key1', 'Key2'], row: (i) => [i.key1, i.key2] },
  },
  {
    when: (i) => typeof i.name === 'string' && (i.type === 'Static' || i.type === 'Dynamic'),
    view: {
      columns: ['Name', 'Type', 'Value', 'SourceField', 'IsSecret'],
      row: (i) => [
        i.name,
        i.type,
        at(i, 'properties', 'value'),
        at(i, 'properties', 'sourceField'),
        at(i, 'properties', 'isSecret'),
      ],
    },
  },
];

function genericView(items: Json[]): View {
  const columns: string[] = [];
  for (const item of items) {
    for (const [k, v] of Object.entries(item)) {
      if (!isObject(v) && !Array.isArray(v) && !columns.includes(k)) columns.push(k);
    }
  }
  const title = (k: string) => k.charAt(0).toUpperCase() + k.slice(1);
  return { columns: columns.map(title), row: (i) => columns.map((k) => i[k]) };
}

/** A list response (`{value:[...]}`), an array or a single object → rows under one set of columns. */
export function toRows(value: unknown): { columns: string[]; rows: string[][] } {
  const list =
    isObject(value) && Array.isArray(value.value) ? value.value : Array.isArray(value) ? value : [value];
  const items = list.filter(isObject);
  if (items.length === 0) return { columns: [], rows: [] };
  const first = items[0] as Json;
  const view = VIEWS.find((v) => v.when(first))?.view ?? genericView(items);
  // Cells are single-line so columns stay aligned and TSV stays one record per line.
  const cell = (v: unknown) => str(v).replace(/[\t\r\n]+/g, ' ');
  return { columns: view.columns, rows: items.map((i) => view.row(i).map(cell)) };
}

/** az-style text table: header, dashes under each column, two spaces between columns. */
export function renderTable(columns: string[], rows: string[][]): string {
  if (columns.length === 0 || rows.length === 0) return '';
  const widths = columns.map((c, i) => Math.max(c.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [line(columns), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

/** Text for stdout; '' when there is nothing to show (e.g. delete). */
export function formatOutput(value: unknown, format: OutputFormat): string {
  if (value === undefined || format === 'none') return '';
  switch (format) {
    case 'table': {
      const { columns, rows } = toRows(value);
      return renderTable(columns, rows);
    }
    case 'tsv': {
      const { rows } = toRows(value);
      return rows.map((r) => r.join('\t') + '\n').join('');
    }
    default:
      return JSON.stringify(value, null, 2) + '\n';
  }
}
