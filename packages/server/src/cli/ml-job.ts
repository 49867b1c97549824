/**
 * `mlgrid ml job create|show|list|cancel|stream` in the style of `az ml job`. `create --file job.yml` maps the
 * az ml Command job YAML (see ml-job-spec.ts) to Azure's REST body; `--stream` follows the job's log (mlgrid's
 * `.../jobs/{name}/logs?offset=N`) and status until it ends, exiting 1 when it Failed or was Canceled, as az.
 */
import { Command, Option } from 'commander';
import type { ArmList } from '@mlgrid/protocol';
import { isTerminal } from '../core/job.js';
import { action, type Context } from './eventgrid-common.js';
import { encodePath } from './http-client.js';
import {
  at,
  noWaitOption,
  POLL_MS,
  printList,
  progressLine,
  setOption,
  sleep,
  workspaceArmId,
  wsLeaf,
  type Json,
  type WsScope,
} from './ml-cli-common.js';
import { generateJobName, jobBodyFromYaml } from './ml-job-spec.js';
import { applySets, loadSpecFile } from './ml-yaml.js';
import type { CliIo } from './output.js';

type JobIo = CliIo & { stderrIsTTY?: boolean };
interface JobFlags extends WsScope {
  name: string;
}

const jobsPath = (ctx: Context, f: WsScope) => `${workspaceArmId(ctx.subscription, f)}/jobs`;
// Unencoded: ArmClient encodes each segment.
const jobPath = (ctx: Context, f: WsScope, name: string) => `${jobsPath(ctx, f)}/${name}`;
const status = (job: unknown) => String(at(job, 'properties', 'status') ?? 'Unknown');

export function registerMlJob(ml: Command, io: JobIo): void {
  const job = ml.command('job').description('Command jobs: run a command on the mlgrid host (az ml job)');

  wsLeaf(job, 'create', 'Create a command job from an az ml job YAML file')
    .requiredOption('-f, --file <path>', 'the job YAML (az ml command job schema, see docs/jobs.md)')
    .option('-n, --name <name>', 'job name (default: the YAML name, else a generated one)')
    .addOption(setOption())
    .option('-s, --stream', 'follow the job log and status until the job ends')
    .addOption(
      new Option('-e, --web [bool]', 'accepted for az compatibility; mlgrid has no studio').hideHelp(),
    )
    .action(
      action<JobFlags & { file: string; set: string[]; stream?: boolean }>(io, async (f, ctx) => {
        const { doc, ctx: spec } = loadSpecFile(f.file);
        const mapped = jobBodyFromYaml(applySets(doc, f.set), spec);
        for (const note of mapped.notes) ctx.warn(note);
        const name = f.name ?? mapped.name ?? generateJobName();
        const created = await ctx.client.put<Json>(jobPath(ctx, f, name), mapped.body);
        if (!f.stream) return ctx.print(created);
        const final = await streamJob(io, ctx, jobPath(ctx, f, name), name);
        ctx.print(final);
      }),
    );

  wsLeaf(job, 'stream', "Follow a job's log and status until it ends")
    .requiredOption('-n, --name <name>', 'job name')
    .action(
      action<JobFlags>(io, async (f, ctx) => {
        ctx.print(await streamJob(io, ctx, jobPath(ctx, f, f.name), f.name));
      }),
    );

  wsLeaf(job, 'show', 'Show a job')
    .requiredOption('-n, --name <name>', 'job name')
    .action(action<JobFlags>(io, async (f, ctx) => ctx.print(await ctx.client.get(jobPath(ctx, f, f.name)))));

  wsLeaf(job, 'list', 'List the jobs of a workspace (oldest first)')
    .option('-r, --max-results <n>', 'at most N jobs (the newest)')
    .action(
      action<WsScope & { maxResults?: string }>(io, async (f, ctx) => {
        let jobs = (await ctx.client.get<ArmList<Json>>(jobsPath(ctx, f)))?.value ?? [];
        if (f.maxResults !== undefined) {
          const n = Number(f.maxResults);
          if (!Number.isInteger(n) || n < 1) throw new Error('--max-results: must be an integer from 1');
          jobs = jobs.slice(-n);
        }
        printList(ctx, f, jobs, (j) => ({
          name: j.name,
          displayName: at(j, 'properties', 'displayName'),
          status: at(j, 'properties', 'status'),
          experiment: at(j, 'properties', 'experimentName'),
          created: at(j, 'systemData', 'createdAt'),
        }));
      }),
    );

  wsLeaf(job, 'cancel', 'Cancel a job (waits until it is Canceled unless --no-wait)')
    .requiredOption('-n, --name <name>', 'job name')
    .addOption(noWaitOption())
    .action(
      action<JobFlags & { wait: boolean }>(io, async (f, ctx) => {
        const path = jobPath(ctx, f, f.name);
        await ctx.client.post(`${path}/cancel`);
        if (!f.wait) return;
        const progress = progressLine(io);
        for (;;) {
          const s = status(await ctx.client.get(path));
          if (isTerminal(s)) break;
          progress.update(`cancelling ${f.name}: ${s}`);
          await sleep(POLL_MS);
        }
        progress.clear();
      }),
    );
}

/**
 * Prints the log as it grows (raw bytes from an offset, decoded across chunk boundaries) until the job is in a
 * final status, then az's execution summary. Resolves with the job when it Completed; throws otherwise.
 */
export async function streamJob(io: JobIo, ctx: Context, path: string, name: string): Promise<Json> {
  io.stdout(`RunId: ${name}\n`);
  io.stdout(
    `Logs: ${ctx.client.baseUrl}${encodePath(path)}/logs\n\nStreaming std_log.txt\n=====================\n`,
  );
  const decoder = new TextDecoder('utf-8');
  const progress = progressLine(io);
  let offset = 0;
  let endsWithNewline = true;
  const write = (s: string) => {
    if (s === '') return;
    progress.clear();
    io.stdout(s);
    endsWithNewline = s.endsWith('\n');
  };
  let job: Json;
  for (;;) {
    // The status first: once it is final, the log read after it is complete.
    job = await ctx.client.get<Json>(path);
    const bytes = await ctx.client.getBytes(`${path}/logs`, { offset: String(offset) });
    offset += bytes.length;
    write(decoder.decode(bytes, { stream: true }));
    if (isTerminal(status(job))) break;
    progress.update(`${name}: ${status(job)}`);
    await sleep(POLL_MS);
  }
  write(decoder.decode());
  progress.clear();
  const run = at(job, 'properties', 'mlgridRun');
  const reason = at(run, 'failureReason');
  io.stdout(
    `${endsWithNewline ? '' : '\n'}\nExecution Summary\n=================\nRunId: ${name}\n` +
      `Status: ${status(job)}${reason === undefined ? '' : ` (${String(reason)})`}\n\n`,
  );
  if (status(job) !== 'Completed') {
    throw new Error(`job ${name} ended ${status(job)}${reason === undefined ? '' : `: ${String(reason)}`}`);
  }
  return job;
}
