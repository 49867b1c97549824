/**
 * Example 1 — email alerts on run completion and failure (README.md beside this file).
 *
 *   npm run example:email-alerts
 *
 * Creates the automation of alerts.automation.yml with the CLI, submits three Command jobs (one completes, one
 * fails, one is cancelled), and shows the two mails that arrive; the cancelled run's event is skipped by the
 * automation's condition.
 */
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import type { JobOut } from '@mlgrid/client';
import { mlgrid } from '../lib/cli.js';
import { automationRuns, isFinalRun, runSummary, waitForRuns, type AutomationRun } from '../lib/rest.js';
import { isEntry, runAsScript } from '../lib/run.js';
import { openSession, type ExampleOptions, type Session } from '../lib/session.js';
import type { CaughtMail } from '../lib/smtp-catcher.js';
import { ExampleError, waitUntil } from '../lib/wait.js';
import { startWatcher, type GridEvent } from '../lib/watch.js';

export const AUTOMATION_FILE = fileURLToPath(new URL('./alerts.automation.yml', import.meta.url));
export const AUTOMATION = 'mail-on-run-end';
export const JOBS = { ok: 'train-ok', broken: 'train-broken', cancelled: 'train-cancelled' } as const;

export interface EmailAlertsResult {
  workspaceId: string;
  jobs: Record<keyof typeof JOBS, string>;
  /** Mails the example's catcher received (embedded mlgrid, or MLGRID_EXAMPLES_SMTP_PORT). */
  mails: CaughtMail[];
  runs: AutomationRun[];
  events: GridEvent[];
}

const COMMANDS = {
  ok: 'echo "epoch 1/3 loss=0.52"; echo "epoch 2/3 loss=0.31"; echo "epoch 3/3 loss=0.22"; echo "model saved"',
  broken:
    'echo "loading data/churn-2025-03.csv"; echo "FileNotFoundError: data/churn-2025-03.csv" >&2; exit 1',
  cancelled: 'echo "waiting for a GPU"; sleep 60',
};

export async function main(opts: ExampleOptions = {}): Promise<EmailAlertsResult> {
  const s = await openSession(opts, {
    title: [
      'Email alerts on run completion and failure',
      'An automation mails the team when a run completes or fails (the seed: a Logic App with a condition).',
    ],
    workspace: 'email-alerts',
    smtp: true,
    runStatusChangedStatuses: ['Failed', 'Canceled'],
  });
  try {
    return await run(s);
  } finally {
    await s.close();
  }
}

async function run(s: Session): Promise<EmailAlertsResult> {
  const { out, client, rg, ws } = s;
  out.step(`Workspace ${ws}: RunStatusChanged is raised for Failed and Canceled runs`);
  out.ok(`created ${s.wsId}`);

  out.step('Creating the automation from alerts.automation.yml with the CLI');
  out.block(readFileSync(AUTOMATION_FILE, 'utf8').replace(/^(#.*\n)+\n?/, ''));
  await mlgrid(s, ['automation', 'create', '-g', rg, '-w', ws, '-n', AUTOMATION, '-f', AUTOMATION_FILE]);
  s.onCleanup(`automation ${AUTOMATION}`, () =>
    mlgrid(s, ['automation', 'delete', '-g', rg, '-w', ws, '-n', AUTOMATION], { print: false }),
  );
  out.ok(`automation ${AUTOMATION} created; its trigger is an event subscription on the workspace`);

  const watcher = await startWatcher(out);
  try {
    await watcher.subscribe(client, s.wsId, 'example-watcher', ['RunCompleted', 'RunStatusChanged']);
    s.onCleanup('the watcher subscription', () =>
      client.eventSubscriptions.delete(s.wsId, 'example-watcher'),
    );
    const mails: CaughtMail[] = [];
    if (s.smtp) {
      s.smtp.onMail = (m) => {
        mails.push(m);
        out.info(`📧 mail to ${m.to.join(', ')}: "${m.subject}"`);
      };
    }

    out.step('Submitting three Command jobs: one completes, one fails, one is cancelled');
    const submit = (name: string, command: string) =>
      client.jobs.create(rg, ws, name, {
        properties: {
          jobType: 'Command',
          command,
          environmentId: 'azureml:examples-shell:1',
          experimentName: 'churn',
        },
      });
    for (const [k, name] of Object.entries(JOBS) as [keyof typeof JOBS, string][]) {
      await submit(name, COMMANDS[k]);
      out.info(`submitted ${name}: ${COMMANDS[k].split(';')[0]} …`);
    }
    await waitUntil(
      `job ${JOBS.cancelled} running`,
      () => client.jobs.get(rg, ws, JOBS.cancelled),
      (j) => j.properties.status === 'Running',
      s.timeout(60_000),
      { show: (j) => j.properties.status },
    );
    await client.jobs.cancel(rg, ws, JOBS.cancelled);
    out.info(`cancelled ${JOBS.cancelled}`);
    const finals: Record<string, JobOut> = {};
    for (const name of Object.values(JOBS)) {
      finals[name] = await client.jobs.waitFor(rg, ws, name, {
        timeoutMs: s.timeout(60_000),
        intervalMs: 200,
      });
      out.ok(`${name}: ${finals[name].properties.status}`);
    }
    expectStatus(finals, JOBS.ok, 'Completed');
    expectStatus(finals, JOBS.broken, 'Failed');
    expectStatus(finals, JOBS.cancelled, 'Canceled');

    out.step('Waiting for the automation: a mail per completed or failed run, the cancelled one skipped');
    const runs = await waitForRuns(
      s,
      AUTOMATION,
      'three finished automation runs',
      (r) => r.length >= 3 && r.every(isFinalRun),
      s.timeout(60_000),
    );
    for (const r of [...runs].reverse()) {
      const e = r.properties.events?.[0];
      out.info(
        `run ${r.name.slice(0, 8)}… on ${e?.eventType.split('.').pop()} ${e?.subject.split('/').pop()}: ${runSummary(r)}`,
      );
    }
    const sent = runs.filter((r) => r.properties.status === 'Succeeded');
    const skipped = runs.filter((r) => r.properties.status === 'Skipped');
    if (sent.length !== 2 || skipped.length !== 1) {
      throw new ExampleError(
        `expected 2 mails sent and 1 skipped run, got ${runs.map(runSummary).join(' | ')}`,
      );
    }

    if (s.smtp) {
      await waitUntil(
        'two mails at the catcher',
        async () => mails.length,
        (n) => n >= 2,
        s.timeout(30_000),
      );
      out.step('The mails, as received by the SMTP server');
      for (const m of mails) {
        out.info(`From: ${m.from}`);
        out.info(`To: ${m.to.join(', ')}`);
        out.info(`Subject: ${m.subject}`);
        out.block(m.text);
      }
      const subjects = mails.map((m) => m.subject).join(' | ');
      for (const name of [JOBS.ok, JOBS.broken]) {
        if (!subjects.includes(name)) throw new ExampleError(`no mail about ${name} (mails: ${subjects})`);
      }
      if (subjects.includes(JOBS.cancelled))
        throw new ExampleError(`a mail about ${JOBS.cancelled} was sent`);
    } else {
      out.step(
        'The mails were sent by mlgrid to its own SMTP server (MLGRID_SMTP_URL); the run records say:',
      );
      for (const r of sent) out.info(JSON.stringify(r.properties.steps[0]?.output ?? {}));
    }
    return {
      workspaceId: s.wsId,
      jobs: { ...JOBS },
      mails,
      runs: await automationRuns(s, AUTOMATION),
      events: [...watcher.events],
    };
  } finally {
    await watcher.close();
  }
}

function expectStatus(jobs: Record<string, JobOut>, name: string, status: string): void {
  const got = jobs[name]?.properties.status;
  if (got !== status) throw new ExampleError(`job ${name} ended ${got}, expected ${status}`);
}

if (isEntry(import.meta.url)) await runAsScript(main);
