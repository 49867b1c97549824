/** A StepContext as the automation engine builds one (the real templating), for driving step kinds directly. */
import { objectLink } from '../../src/core/automation-link.js';
import { StepError, type StepContext, type TriggerEvent } from '../../src/core/automation-step.js';
import { renderTemplate } from '../../src/core/automation-template.js';
import type { WorkspaceRef } from '../../src/core/ml-events.js';
import { workspaceId } from '../../src/core/ml-events.js';

let seq = 0;

/** A fresh run id (and so a fresh idempotency key) per call unless `over.runId` is given. */
export function stepContext(
  workspace: WorkspaceRef,
  baseUrl: string,
  events: TriggerEvent[],
  over: Partial<StepContext> = {},
): StepContext {
  const event = events.at(-1)!;
  const runId = over.runId ?? `run-${++seq}`;
  const scope = {
    ...event,
    event,
    events,
    steps: {},
    link: objectLink(event, baseUrl) ?? '',
    runId,
    automation: { name: 'auto-1' },
  };
  return {
    workspace,
    automation: { name: 'auto-1', id: `${workspaceId(workspace)}/automations/auto-1` },
    runId,
    event,
    events,
    outputs: {},
    lineage: { correlationId: 'corr-0001', causationId: event.id },
    idempotencyKey: `auto-1/${runId}/0`,
    render: (tpl, o) => renderTemplate(tpl, scope, o),
    baseUrl,
    signal: new AbortController().signal,
    ...over,
  };
}

/** The StepError a step fails with (anything else, or success, fails the test). */
export async function stepFailure(p: Promise<unknown>): Promise<StepError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof StepError) return err;
    throw err;
  }
  throw new Error('the step succeeded');
}
