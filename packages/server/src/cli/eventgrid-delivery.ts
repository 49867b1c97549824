/**
 * `mlgrid eventgrid event-subscription delivery|dead-letter|replay`: the mlgrid delivery extensions (attempt log,
 * queued deliveries, dead letters, redrive, replay). No az equivalent; scope flags as the other subcommands.
 */
import { Command } from 'commander';
import { DeliveryOutcome } from '../core/retry-policy.js';
import { parseExpirationDate, parseIntFlag, usage } from './eventgrid-args.js';
import { resolveScope } from './event-subscription-args.js';
import { action, addGlobalOptions, type Context, type GlobalFlags } from './eventgrid-common.js';
import { eventSubscriptionPath } from './http-client.js';
import { renderTable, type CliIo } from './output.js';

/** A CliIo that may say whether stderr is a terminal; left out, the process's stderr decides. */
export interface DeliveryIo extends CliIo {
  stderrIsTTY?: boolean;
}

interface ScopeFlags {
  name: string;
  sourceResourceId?: string;
  topicName?: string;
  resourceGroup?: string;
}
interface PageFlags {
  top?: string;
  all?: boolean;
}
type Json = Record<string, unknown>;
interface Page {
  value?: Json[];
  nextAfter?: string;
}

/** Rows per request with --all / --top (the server's maximum). */
export const PAGE_SIZE = 1000;
const MAX_TOP = 1_000_000;
const STATUSES = ['pending', 'delivered', 'deadlettered', 'dropped'];
const OUTCOMES: string[] = Object.values(DeliveryOutcome);

function leaf(parent: Command, name: string, description: string): Command {
  const cmd = new Command(name)
    .description(description)
    .requiredOption('-n, --name <name>', 'name of the event subscription')
    .option('--source-resource-id <id>', 'ARM id of the source resource (default: the subscription)')
    .option('--topic-name <name>', 'shorthand: a custom topic in --resource-group as the source')
    .option('-g, --resource-group <group>', 'resource group of --topic-name');
  parent.addCommand(cmd);
  return cmd;
}

function withPaging(cmd: Command): Command {
  return cmd
    .option('--top <n>', `at most N rows (fetched in pages of up to ${PAGE_SIZE})`)
    .option('--all', 'fetch every page');
}

const pathOf = (f: ScopeFlags, ctx: Context, op: string) =>
  `${eventSubscriptionPath(resolveScope(f, ctx.subscription), f.name)}/${op}`;

/** `--outcome failed|Succeeded|BadRequest|...`, case-insensitive, sent in the server's spelling. */
export function parseOutcome(text: string): string {
  const t = text.trim().toLowerCase();
  if (t === 'failed') return 'failed';
  const hit = OUTCOMES.find((o) => o.toLowerCase() === t);
  if (!hit) throw usage('--outcome', `'${text}' is not 'failed' or one of ${OUTCOMES.join(', ')}`);
  return hit;
}

/** `fetched 3 pages, 2,400 rows…` rewritten in place on a terminal; nothing otherwise. */
function progressLine(io: DeliveryIo) {
  const tty = io.stderrIsTTY ?? process.stderr.isTTY === true;
  let shown = false;
  return {
    update(pages: number, rows: number) {
      if (!tty) return;
      shown = true;
      const p = `${pages} page${pages === 1 ? '' : 's'}`;
      io.stderr(`\rfetched ${p}, ${rows.toLocaleString('en-US')} rows…\x1b[K`);
    },
    done() {
      if (shown) io.stderr('\r\x1b[K');
      shown = false;
    },
  };
}

/**
 * One page (server default size) unless --top or --all; then follows `nextAfter` in pages of up to PAGE_SIZE,
 * stopping at --top rows or at the last page.
 */
export async function fetchRows(
  io: DeliveryIo,
  ctx: Context,
  path: string,
  f: PageFlags,
  query: Record<string, string | undefined> = {},
): Promise<Json[]> {
  if (f.all && f.top !== undefined) throw usage('--top', 'cannot be combined with --all');
  const limit = f.all ? Infinity : f.top !== undefined ? parseIntFlag('--top', f.top, 1, MAX_TOP) : undefined;
  const rows: Json[] = [];
  const bar = progressLine(io);
  let after: string | undefined;
  let pages = 0;
  try {
    for (;;) {
      const top = limit === undefined ? undefined : Math.min(PAGE_SIZE, limit - rows.length);
      const page = await ctx.client.get<Page | undefined>(path, { ...query, top: top?.toString(), after });
      const value = page?.value ?? [];
      rows.push(...value);
      pages++;
      const next = page?.nextAfter;
      if (limit === undefined) {
        if (next) ctx.warn('there may be more rows: add --all, or --top N');
        break;
      }
      // A repeated cursor would loop forever: treat it as the end.
      if (!next || next === after || value.length === 0 || rows.length >= limit) break;
      after = next;
      bar.update(pages, rows.length);
    }
  } finally {
    bar.done();
  }
  return rows;
}

function cell(v: unknown): string {
  if (v === undefined || v === null) return '';
  if (Array.isArray(v)) return v.map(cell).join(',');
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v).replace(/[\t\r\n]+/g, ' ');
}

/** JSON formats print the rows as the server sent them; table and tsv use the given columns. */
function printRows(
  io: CliIo,
  f: GlobalFlags,
  ctx: Context,
  items: Json[],
  columns: string[],
  row: (i: Json) => unknown[],
): void {
  if (f.output !== 'table' && f.output !== 'tsv') return ctx.print(items);
  const rows = items.map((i) => row(i).map(cell));
  io.stdout(
    f.output === 'table' ? renderTable(columns, rows) : rows.map((r) => r.join('\t') + '\n').join(''),
  );
}

const field = (v: unknown, key: string): unknown =>
  typeof v === 'object' && v !== null ? (v as Json)[key] : undefined;

export function registerDeliveryCommands(group: Command, io: DeliveryIo): void {
  const delivery = group
    .command('delivery')
    .description('The delivery log and queued deliveries of an event subscription (mlgrid)');

  addGlobalOptions(
    withPaging(
      leaf(delivery, 'list', 'List delivery attempts (one row per HTTP request), oldest first')
        .option(
          '--outcome <outcome>',
          "'failed' (every outcome but Succeeded), or Succeeded, BadRequest, ...",
        )
        .option('--since <date>', 'attempts started at or after this UTC date or date-time')
        .option('--until <date>', 'attempts started before this UTC date or date-time'),
    ),
  ).action(
    action<ScopeFlags & PageFlags & { outcome?: string; since?: string; until?: string }>(
      io,
      async (f, ctx) => {
        const query = {
          outcome: f.outcome === undefined ? undefined : parseOutcome(f.outcome),
          from: f.since === undefined ? undefined : parseExpirationDate(f.since, '--since'),
          to: f.until === undefined ? undefined : parseExpirationDate(f.until, '--until'),
        };
        const rows = await fetchRows(io, ctx, pathOf(f, ctx, 'deliveryAttempts'), f, query);
        printRows(
          io,
          f,
          ctx,
          rows,
          ['Time', 'Outcome', 'Status', 'DurationMs', 'DeliveryCount', 'Events'],
          (a) => [a.startedAt, a.outcome, a.statusCode, a.durationMs, a.deliveryCount, a.eventIds],
        );
      },
    ),
  );

  addGlobalOptions(
    withPaging(
      leaf(delivery, 'pending', 'List queued deliveries (default: still pending), oldest first').option(
        '--status <status>',
        'pending (default), delivered, deadlettered, dropped, or all',
      ),
    ),
  ).action(
    action<ScopeFlags & PageFlags & { status?: string }>(io, async (f, ctx) => {
      const status = (f.status ?? 'pending').trim().toLowerCase();
      if (status !== 'all' && !STATUSES.includes(status)) {
        throw usage('--status', `'${f.status}' is not ${STATUSES.join(', ')} or all`);
      }
      const query = { status: status === 'all' ? undefined : status };
      const rows = await fetchRows(io, ctx, pathOf(f, ctx, 'deliveries'), f, query);
      printRows(
        io,
        f,
        ctx,
        rows,
        ['Id', 'Status', 'Attempts', 'NextAttempt', 'EventId', 'EventType'],
        (d) => [
          d.id,
          d.status,
          d.attempts,
          d.nextAttemptTime,
          field(d.event, 'id'),
          field(d.event, 'eventType') ?? field(d.event, 'type'),
        ],
      );
    }),
  );

  const deadLetter = group
    .command('dead-letter')
    .description('Dead-lettered deliveries of an event subscription, and redrive (mlgrid)');

  addGlobalOptions(
    withPaging(leaf(deadLetter, 'list', 'List dead-lettered deliveries, oldest first')),
  ).action(
    action<ScopeFlags & PageFlags>(io, async (f, ctx) => {
      const rows = await fetchRows(io, ctx, pathOf(f, ctx, 'deadLetters'), f);
      printRows(
        io,
        f,
        ctx,
        rows,
        ['Id', 'Reason', 'Attempts', 'LastOutcome', 'LastStatus', 'PublishTime', 'EventId'],
        (d) => [
          d.id,
          d.deadLetterReason,
          d.deliveryAttempts,
          d.lastDeliveryOutcome,
          d.lastHttpStatusCode,
          d.publishTime,
          field(d.record, 'id'),
        ],
      );
    }),
  );

  addGlobalOptions(
    leaf(deadLetter, 'redrive', 'Queue dead-lettered deliveries again, with a fresh attempt count')
      .option('--ids <ids...>', 'dead-letter ids (from `dead-letter list`)')
      .option('--all', 'every dead-lettered delivery of the subscription'),
  ).action(
    action<ScopeFlags & { ids?: string[]; all?: boolean }>(io, async (f, ctx) => {
      if ((f.ids === undefined) === (f.all !== true)) {
        throw usage('--ids', 'give either --ids ID [ID ...] or --all (exactly one of them)');
      }
      let body: { ids: string[] } | { all: true } = { all: true };
      if (f.ids) {
        const ids = f.ids.flatMap((s) => s.split(',')).map((s) => s.trim());
        const bad = ids.find((s) => !/^\d+$/.test(s));
        if (bad !== undefined) throw usage('--ids', `'${bad}' is not a dead-letter id`);
        body = { ids };
      }
      ctx.print(await ctx.client.post<{ redriven: number }>(pathOf(f, ctx, 'redrive'), body));
    }),
  );

  addGlobalOptions(
    leaf(
      group,
      'replay',
      'Deliver again the retained events published since a time that match the current filter',
    ).requiredOption(
      '--from <date>',
      "UTC date or date-time (e.g. 2026-01-31 or '2026-01-31T08:00:00+01:00')",
    ),
  ).action(
    action<ScopeFlags & { from: string }>(io, async (f, ctx) => {
      const from = parseExpirationDate(f.from, '--from');
      ctx.print(
        await ctx.client.post<{ enqueued: number; from: string }>(pathOf(f, ctx, 'replay'), { from }),
      );
    }),
  );
}
