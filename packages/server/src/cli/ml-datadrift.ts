/**
 * `mlgrid ml datadrift create|show|list|run|backfill|results|delete`: data-drift monitors
 * (docs/drift-monitors.md), flags in the style of az / the azureml-datadrift SDK. `backfill` waits for the
 * operation and draws a progress bar per interval when stderr is a terminal.
 */
import type { Command } from 'commander';
import type { ArmList } from '@mlgrid/protocol';
import { parseKeyValues } from './eventgrid-args.js';
import { action, type Context, type GlobalFlags } from './eventgrid-common.js';
import {
  at,
  POLL_MS,
  printList,
  sleep,
  workspaceArmId,
  wsLeaf,
  type Json,
  type WsScope,
} from './ml-cli-common.js';
import type { CliIo } from './output.js';

interface NameFlags extends WsScope {
  name: string;
}
interface CreateFlags extends NameFlags {
  baselineData: string;
  targetData: string;
  timestampColumn: string;
  frequency: string;
  features?: string[];
  threshold?: string;
  latency?: string;
  schedule?: boolean;
  startTime?: string;
  description?: string;
  tags?: string[];
}

const drifts = (ctx: Context, f: WsScope) => `${workspaceArmId(ctx.subscription, f)}/dataDriftDetectors`;
const driftPath = (ctx: Context, f: NameFlags) => `${drifts(ctx, f)}/${f.name}`;

/** `name:version` (or `azureml:name:version`, or an ARM id, sent as written). */
export function dataRefArg(flag: string, v: string): unknown {
  if (v.startsWith('/')) return v;
  const m = /^(?:azureml:)?([^:]+):([^:]+)$/.exec(v);
  if (!m) throw new Error(`${flag}: expected name:version, got '${v}'`);
  return { name: m[1], version: m[2] };
}

function numberArg(flag: string, v: string | undefined, integer = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || (integer && !Number.isInteger(n)))
    throw new Error(`${flag}: expected ${integer ? 'an integer' : 'a number'}, got '${v}'`);
  return n;
}

export function createBody(f: CreateFlags): Json {
  const props: Json = {
    baselineData: dataRefArg('--baseline-data', f.baselineData),
    targetData: dataRefArg('--target-data', f.targetData),
    timestampColumn: f.timestampColumn,
    frequency: f.frequency,
  };
  const set = (k: string, v: unknown) => {
    if (v !== undefined) props[k] = v;
  };
  set('features', f.features);
  set('threshold', numberArg('--threshold', f.threshold));
  set('latencyHours', numberArg('--latency', f.latency, true));
  set('scheduleEnabled', f.schedule);
  set('startTime', f.startTime);
  set('description', f.description);
  return { tags: parseKeyValues('--tags', f.tags ?? [], true), properties: props };
}

const monitorRow = (m: Json): Json => ({
  name: m.name,
  frequency: at(m, 'properties', 'frequency'),
  threshold: at(m, 'properties', 'threshold'),
  schedule: at(m, 'properties', 'scheduleEnabled'),
  baseline: `${at(m, 'properties', 'baselineData', 'name')}:${at(m, 'properties', 'baselineData', 'version')}`,
  target: `${at(m, 'properties', 'targetData', 'name')}:${at(m, 'properties', 'targetData', 'version')}`,
});
const resultRow = (r: Json): Json => {
  const coef = at(r, 'properties', 'driftCoefficient');
  return {
    startTime: at(r, 'properties', 'startTime'),
    endTime: at(r, 'properties', 'endTime'),
    status: at(r, 'properties', 'status'),
    driftCoefficient: typeof coef === 'number' ? Number(coef.toFixed(4)) : '',
    hasDrift: at(r, 'properties', 'hasDrift') ?? '',
    targetRows: at(r, 'properties', 'rows', 'target') ?? '',
    error: at(r, 'properties', 'error', 'code') ?? '',
  };
};

/** `backfill [##########----------] 2/4 intervals` on a terminal's stderr, rewritten in place. */
function intervalBar(io: CliIo & { stderrIsTTY?: boolean }) {
  const tty = io.stderrIsTTY ?? process.stderr.isTTY === true;
  let last = '';
  return {
    update(done: number, total: number) {
      if (!tty) return;
      const frac = total === 0 ? 1 : done / total;
      const line = `backfill [${'#'.repeat(Math.round(frac * 20)).padEnd(20, '-')}] ${done}/${total} intervals`;
      if (line !== last) io.stderr(`\r${line}\x1b[K`);
      last = line;
    },
    done() {
      if (last) io.stderr('\n');
    },
  };
}

export function registerMlDataDrift(ml: Command, io: CliIo): void {
  const dd = ml.command('datadrift').description('Data-drift monitors: DatasetDriftDetected (mlgrid)');

  wsLeaf(dd, 'create', 'Create or replace a data-drift monitor')
    .requiredOption('-n, --name <name>', 'monitor name')
    .requiredOption('--baseline-data <name:version>', 'baseline data asset version')
    .requiredOption('--target-data <name:version>', 'target data asset version (rows windowed by time)')
    .requiredOption('--timestamp-column <column>', "the target's timestamp column")
    .requiredOption('--frequency <freq>', 'Day, Week or Month')
    .option('--features <columns...>', 'features (default: every common column; at most 200)')
    .option('--threshold <x>', 'drift coefficient above which DatasetDriftDetected is raised (default 0.2)')
    .option('--latency <hours>', 'hours data takes to arrive (default 0)')
    .option('--schedule', 'run every period by itself')
    .option('--no-schedule', 'only ad-hoc runs and backfills (default)')
    .option('--start-time <iso>', 'scheduled runs start with the period containing it')
    .option('-d, --description <text>', 'description')
    .option('--tags <tags...>', 'space-separated tags: key=value ...')
    .action(
      action<CreateFlags>(io, async (f, ctx) => {
        ctx.print(await ctx.client.put(driftPath(ctx, f), createBody(f)));
      }),
    );

  wsLeaf(dd, 'show', 'Show a data-drift monitor')
    .requiredOption('-n, --name <name>', 'monitor name')
    .action(action<NameFlags>(io, async (f, ctx) => ctx.print(await ctx.client.get(driftPath(ctx, f)))));

  wsLeaf(dd, 'list', 'List the data-drift monitors of a workspace').action(
    action<WsScope & GlobalFlags>(io, async (f, ctx) => {
      const list = (await ctx.client.get<ArmList<Json>>(drifts(ctx, f)))?.value ?? [];
      printList(ctx, f, list, monitorRow);
    }),
  );

  wsLeaf(dd, 'run', 'Run a monitor on one period now: the period containing --date, or --start to --end')
    .requiredOption('-n, --name <name>', 'monitor name')
    .option('--date <date>', 'target date (the period of the monitor frequency containing it)')
    .option('--start <iso>', 'window start (with --end, instead of --date)')
    .option('--end <iso>', 'window end (exclusive)')
    .action(
      action<NameFlags & GlobalFlags & { date?: string; start?: string; end?: string }>(
        io,
        async (f, ctx) => {
          if (f.date === undefined && (f.start === undefined || f.end === undefined))
            throw new Error('give --date, or --start and --end');
          const body = f.date !== undefined ? { targetDate: f.date } : { startTime: f.start, endTime: f.end };
          const r = await ctx.client.post<Json>(`${driftPath(ctx, f)}/run`, body);
          ctx.print(f.output === 'table' || f.output === 'tsv' ? [resultRow(r)] : r);
        },
      ),
    );

  wsLeaf(dd, 'backfill', 'Run every period from --start-date to --end-date (inclusive, at most 31)')
    .requiredOption('-n, --name <name>', 'monitor name')
    .requiredOption('--start-date <date>', 'first date')
    .requiredOption('--end-date <date>', 'last date (inclusive)')
    .action(
      action<NameFlags & { startDate: string; endDate: string }>(io, async (f, ctx) => {
        const path = driftPath(ctx, f);
        let op = await ctx.client.post<Json>(`${path}/backfill`, {
          startDate: f.startDate,
          endDate: f.endDate,
        });
        const bar = intervalBar(io);
        try {
          for (;;) {
            const total = Number(at(op, 'properties', 'total') ?? 0);
            bar.update(Number(at(op, 'properties', 'completed') ?? 0), total);
            if (at(op, 'properties', 'status') !== 'Running') break;
            await sleep(POLL_MS);
            op = await ctx.client.get<Json>(`${path}/backfills/${String(op.name)}`);
          }
        } finally {
          bar.done();
        }
        ctx.print(op);
        if (at(op, 'properties', 'status') !== 'Succeeded') throw new Error('the backfill did not complete');
      }),
    );

  wsLeaf(dd, 'results', 'Results over periods (oldest first)')
    .requiredOption('-n, --name <name>', 'monitor name')
    .option('--start <iso>', 'only periods overlapping [start, end)')
    .option('--end <iso>', 'see --start')
    .action(
      action<NameFlags & GlobalFlags & { start?: string; end?: string }>(io, async (f, ctx) => {
        const query: Record<string, string> = {};
        if (f.start !== undefined) query.startTime = f.start;
        if (f.end !== undefined) query.endTime = f.end;
        const list =
          (await ctx.client.get<ArmList<Json>>(`${driftPath(ctx, f)}/results`, query))?.value ?? [];
        printList(ctx, f, list, resultRow);
      }),
    );

  wsLeaf(dd, 'delete', 'Delete a monitor and its results')
    .requiredOption('-n, --name <name>', 'monitor name')
    .action(
      action<NameFlags>(io, async (f, ctx) => {
        await ctx.client.delete(driftPath(ctx, f));
      }),
    );
}
