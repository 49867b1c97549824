/**
 * The whole lifecycle in one terminal:
 *
 *   npm run demo
 *
 * baseline model in production → data drift detected → retraining job → new model version registered →
 * deployed by its tags → the endpoint scores with the new model → the team gets a mail → the chain, read back.
 * Runs against an embedded mlgrid (or MLGRID_URL + MLGRID_KEY), like the examples it is built from
 * (examples/retrain-on-drift and examples/email-alerts).
 */
import { MODEL } from './churn/setup.js';
import { rest } from './lib/rest.js';
import { isEntry, runAsScript } from './lib/run.js';
import { openSession, type ExampleOptions } from './lib/session.js';
import type { CaughtMail } from './lib/smtp-catcher.js';
import { waitUntil } from './lib/wait.js';
import { startWatcher } from './lib/watch.js';
import {
  createAutomations,
  driftToDeployment,
  setUpProduction,
  type RetrainResult,
} from './retrain-on-drift/run.js';

export const NOTIFY = 'notify-on-deploy';

/** The mail automation, created through the REST API this time (the examples use the CLI and YAML). */
export const NOTIFY_DEFINITION = {
  properties: {
    description: 'Tell the team when a model goes live',
    trigger: { includedEventTypes: ['Microsoft.MachineLearningServices.ModelDeployed'] },
    steps: [
      {
        name: 'mail',
        type: 'sendEmail',
        to: 'ml-team@example.com',
        subject: '{{data.modelIds}} is live on {{data.serviceName}}',
        text:
          '{{data.modelIds}} is live on {{data.serviceName}} (deployment {{data.deploymentName}}).\n' +
          'It was retrained because of the drift event {{data.correlationId}}.\nOpen the endpoint: {{link}}',
      },
    ],
  },
};

export interface DemoResult extends RetrainResult {
  mails: CaughtMail[];
}

export async function main(opts: ExampleOptions = {}): Promise<DemoResult> {
  const s = await openSession(opts, {
    title: [
      'mlgrid demo: the ML lifecycle on events',
      'drift → retrain → register → deploy → score → email, every step an event that the next one reacts to',
    ],
    workspace: 'demo',
    smtp: true,
  });
  const { out, client } = s;
  try {
    const endpoint = await setUpProduction(s);
    await createAutomations(s, endpoint, { show: false });
    out.step('Automation 3: ModelDeployed → sendEmail (created with the REST API)');
    await rest(s, 'PUT', `${s.wsId}/automations/${NOTIFY}`, NOTIFY_DEFINITION);
    s.onCleanup(`automation ${NOTIFY}`, () => rest(s, 'DELETE', `${s.wsId}/automations/${NOTIFY}`));
    out.ok(`${NOTIFY}: mails ml-team@example.com`);

    const mails: CaughtMail[] = [];
    if (s.smtp) {
      s.smtp.onMail = (m) => {
        mails.push(m);
        out.info(`📧 mail to ${m.to.join(', ')}: "${m.subject}"`);
      };
    }
    const watcher = await startWatcher(out);
    try {
      await watcher.subscribe(client, s.wsId, 'demo-watcher', [
        'DatasetDriftDetected',
        'RunCompleted',
        'RunStatusChanged',
        'ModelRegistered',
        'ModelDeployed',
      ]);
      s.onCleanup('the watcher subscription', () => client.eventSubscriptions.delete(s.wsId, 'demo-watcher'));
      const result = await driftToDeployment(s, watcher, endpoint);
      if (s.smtp) {
        const version = String(result.scoreAfter.deployment).replace(/^churn-v/, '');
        const mail = await waitUntil(
          `the mail about ${MODEL}:${version}`,
          async () => mails.find((m) => m.text.includes(`${MODEL}:${version} is live`)),
          (m) => m !== undefined,
          s.timeout(60_000),
        );
        out.step('The mail the team received');
        out.info(`Subject: ${mail!.subject}`);
        out.block(mail!.text);
      }
      return { ...result, mails };
    } finally {
      await watcher.close();
    }
  } finally {
    await s.close();
  }
}

if (isEntry(import.meta.url)) await runAsScript(main);
