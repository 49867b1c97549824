/**
 * The step kinds an automation may use, by `type`: sendEmail, submitJob, deployModel (docs/automation-steps.md),
 * httpRequest and publishEvent (docs/automations.md). Built once per server from the services they call.
 */
import type { StepKinds } from '../../core/automation-def.js';
import type { StepKind } from '../../core/automation-step.js';
import type { EgressGuard } from '../../core/egress.js';
import type { Mailer } from '../../services/mailer.js';
import type { Publisher } from '../publisher.js';
import type { TopicRecord } from '../../store/types.js';
import { deployModelStep, type DeployModelDeps } from './deploy-model.js';
import { httpRequestStep } from './http-request.js';
import { publishEventStep } from './publish-event.js';
import { sendEmailStep } from './send-email.js';
import { submitJobStep, type SubmitJobDeps } from './submit-job.js';

export interface StepDeps {
  /** Egress policy for httpRequest (the webhooks' one). */
  guard?: EgressGuard;
  publisher: Publisher;
  topicByName(name: string): Promise<TopicRecord>;
  /** undefined: SMTP is not configured; sendEmail steps then fail saying so. */
  mailer?: Mailer;
  jobs: SubmitJobDeps['jobs'];
  endpoints: DeployModelDeps['endpoints'];
  deployments: DeployModelDeps['deployments'];
  /** Status polling of submitJob / deployModel (tests shorten it). */
  pollMs?: number;
}

export interface StepRegistry {
  kinds: StepKinds;
  close(): Promise<void>;
}

export function buildStepKinds(deps: StepDeps): StepRegistry {
  const http = httpRequestStep({ ...(deps.guard ? { guard: deps.guard } : {}) });
  const poll = deps.pollMs !== undefined ? { pollMs: deps.pollMs } : {};
  const list: StepKind<never>[] = [
    sendEmailStep({ ...(deps.mailer ? { mailer: deps.mailer } : {}) }),
    submitJobStep({ jobs: deps.jobs, ...poll }),
    deployModelStep({ endpoints: deps.endpoints, deployments: deps.deployments, ...poll }),
    http,
    publishEventStep({ publisher: deps.publisher, topicByName: deps.topicByName }),
  ] as StepKind<never>[];
  const kinds = new Map<string, StepKind>(list.map((k) => [k.type, k as StepKind]));
  return {
    kinds,
    async close() {
      await http.close();
      deps.mailer?.close();
    },
  };
}
