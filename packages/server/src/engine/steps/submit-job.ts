/**
 * The `submitJob` step: submits a Command job to the run's workspace from the step's job body template, filled
 * from the event, carrying the run's lineage. Create-if-absent by name, so a repeated step finds its job instead
 * of starting a second one; optionally waits for the job and fails when it does not complete.
 * docs/automation-steps.md#submitjob.
 *
 * Deps: `{ jobs: JobService }` (its `put` and `get`), and `pollMs` (how often a waiting step reads the job's
 * status; default 500).
 */
import {
  checkJobTemplates,
  fillJobTemplate,
  jobNameFor,
  parseSubmitJobStep,
  withLineage,
  type SubmitJobSpec,
} from '../../core/automation-job.js';
import { StepError, type StepContext, type StepKind } from '../../core/automation-step.js';
import { isTerminal, validateJobName } from '../../core/job.js';
import type { JobService } from '../../services/jobs.js';
import { asStepError, isNotFound, pause, serviceCall } from './step-io.js';

export interface SubmitJobDeps {
  jobs: Pick<JobService, 'put' | 'get'>;
  pollMs?: number;
}

interface JobView {
  id: string;
  name: string;
  properties: { status?: string; mlgridRun?: { exitCode?: number; failureReason?: string } };
}

export function submitJobStep(deps: SubmitJobDeps): StepKind<SubmitJobSpec> {
  const pollMs = deps.pollMs ?? 500;
  return {
    type: 'submitJob',
    // A waited-for retraining may take hours; a definition bounds it with the step's timeoutSeconds.
    defaultTimeoutSeconds: 86_400,
    parse: parseSubmitJobStep,
    checkTemplates: checkJobTemplates,
    async execute(step, ctx) {
      const name =
        step.name !== undefined
          ? ctx.render(step.name).trim()
          : jobNameFor(ctx.automation.name, ctx.idempotencyKey);
      try {
        validateJobName(name);
      } catch {
        throw new StepError(
          `name: '${name}' is not a valid job name (letters, digits, '-', '_'; 1-255)`,
          false,
        );
      }
      const base = ctx.baseUrl ?? '';
      let job = await find(deps, ctx, name);
      let created = false;
      if (!job) {
        const body = withLineage(
          fillJobTemplate(step.job, (t) => ctx.render(t)),
          ctx.lineage,
          {
            automation: ctx.automation.name,
            runId: ctx.runId,
          },
        );
        const put = await serviceCall(`submitting job ${name}`, () =>
          deps.jobs.put(ctx.workspace, name, body, base),
        );
        job = put.out as unknown as JobView;
        created = put.created; // false: a twin of this step created it a moment ago
      }
      if (step.wait) job = await waitFor(deps, ctx, name, job, pollMs);
      const status = job.properties.status ?? 'Unknown';
      if (step.wait && status !== 'Completed') {
        const reason = job.properties.mlgridRun?.failureReason;
        throw new StepError(`job ${name} ended ${status}${reason ? `: ${reason}` : ''}`, false);
      }
      const run = job.properties.mlgridRun ?? {};
      return {
        output: {
          name: job.name,
          id: job.id,
          status,
          created,
          ...(run.exitCode !== undefined ? { exitCode: run.exitCode } : {}),
        },
        summary: `${created ? 'submitted' : 'found existing'} job ${job.name} (${status})`,
      };
    },
  };
}

async function find(deps: SubmitJobDeps, ctx: StepContext, name: string): Promise<JobView | undefined> {
  try {
    return (await deps.jobs.get(ctx.workspace, name, ctx.baseUrl ?? '')) as unknown as JobView;
  } catch (err) {
    if (isNotFound(err, 'job')) return undefined; // not the workspace: that one is a failure
    throw asStepError(err, `reading job ${name}`);
  }
}

/** Polls until the job is in a final status; an abort (server stopping, step timeout) is retryable: the job runs on. */
async function waitFor(deps: SubmitJobDeps, ctx: StepContext, name: string, job: JobView, pollMs: number) {
  let cur = job;
  while (!isTerminal(cur.properties.status ?? '')) {
    if (ctx.signal.aborted) {
      throw new StepError(
        `stopped waiting for job ${name} (${cur.properties.status}); a retry waits again`,
        true,
      );
    }
    await pause(pollMs, ctx.signal);
    cur = (await find(deps, ctx, name)) ?? cur;
  }
  return cur;
}
