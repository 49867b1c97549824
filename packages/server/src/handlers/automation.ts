/**
 * The `Automation` destination: an automation's trigger subscription delivers here, in process. A delivery
 * succeeds once the engine has recorded every event of it in a run (or a skipped run), so the dispatcher's
 * at-least-once delivery, retries, dead-lettering and delivery log apply to automations as to any endpoint.
 */
import type { EventSubscriptionDestination } from '@mlgrid/protocol';
import { triggerFromStored } from '../core/automation-event.js';
import type { AutomationEngine } from '../engine/automation-engine.js';
import { AutomationGone } from '../engine/automation-docs.js';
import {
  handlerFailure,
  handlerSuccess,
  type DeliveryTarget,
  type DestinationHandler,
  type SendContext,
  type SendResult,
} from './destination.js';

export class AutomationHandler implements DestinationHandler {
  readonly endpointTypes = ['Automation'] as const;
  private readonly targets = new Map<string, DeliveryTarget>();

  constructor(private readonly engine: AutomationEngine) {}

  target(dest: EventSubscriptionDestination): DeliveryTarget | undefined {
    const id = dest.properties.resourceId;
    if (!id) return undefined;
    const key = id.toLowerCase();
    let t = this.targets.get(key);
    if (!t) {
      t = { origin: `automation:${key}`, send: (_req, ctx) => this.send(key, ctx) };
      if (this.targets.size >= 10_000) this.targets.clear();
      this.targets.set(key, t);
    }
    return t;
  }

  private async send(automationKey: string, ctx: SendContext): Promise<SendResult> {
    const started = performance.now();
    const ms = () => Math.round(performance.now() - started);
    let triggers;
    try {
      triggers = ctx.batch.map((d) => triggerFromStored(d.event.schema, d.event.body));
    } catch (err) {
      return handlerFailure(`not an event: ${(err as Error).message}`, ms(), false);
    }
    try {
      const out = await this.engine.accept(automationKey, triggers, 'delivery');
      const text = out.map(
        (o) => `${o.status}${o.runId ? ` run ${o.runId}` : ''}${o.reason ? ` (${o.reason})` : ''}`,
      );
      return handlerSuccess(ms(), text.join('; ').slice(0, 512));
    } catch (err) {
      if (err instanceof AutomationGone) return handlerFailure('the automation does not exist', ms(), false);
      return handlerFailure(`automation engine: ${(err as Error).message}`, ms());
    }
  }
}
