/** Event subscriptions as extension resources on any scope, kept in the store and in the routing index. */
import type { DeliveryAttributeMapping, EventSubscriptionOut, InputSchema } from '@mlgrid/protocol';
import { invalid, MlgridError, notFound } from '../core/errors.js';
import {
  applyEventSubscriptionPatch,
  deliveryAttributes,
  fullEndpointUrl,
  normalizeResourceId,
  parseEventSubscriptionPut,
  renderEventSubscription,
  validateSubscriptionName,
  type EventSubscriptionSpec,
} from '../core/event-subscription.js';
import type { RoutingIndex } from '../core/routing.js';
import type { TopicSpec } from '../core/topic.js';
import type { DeliveryStatus, DeliveryView, EventSubscriptionRecord, Store } from '../store/types.js';

const TOPIC_SCOPE =
  /^\/subscriptions\/[^/]+\/resourceGroups\/[^/]+\/providers\/Microsoft\.EventGrid\/topics\/[^/]+$/i;

export function eventSubscriptionId(scope: string, name: string): string {
  return `${scope}/providers/Microsoft.EventGrid/eventSubscriptions/${name}`;
}

export class EventSubscriptionService {
  constructor(
    private readonly store: Store,
    private readonly index: RoutingIndex,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private refreshing: Promise<void> = Promise.resolve();

  /** Fill the routing index from the store, and follow changes other nodes make (stores with `notify`). */
  async load(): Promise<() => Promise<void>> {
    const unwatch = await this.store.watchSubscriptions((key) => {
      // Serialised, so an older read never overwrites a newer one.
      this.refreshing = this.refreshing.then(() => this.refresh(key)).catch(() => {});
    });
    for (const r of await this.store.listEventSubscriptions()) this.remember(r);
    return unwatch;
  }

  private async refresh(key: string): Promise<void> {
    const rec = await this.store.getEventSubscription(key);
    if (rec) this.remember(rec);
    else this.forget(key);
  }

  async put(
    rawScope: string,
    name: string,
    body: unknown,
  ): Promise<{ created: boolean; out: EventSubscriptionOut }> {
    const scope = normalizeResourceId(rawScope);
    validateSubscriptionName(name);
    const topicInputSchema = await this.scopeInputSchema(scope);
    const now = this.now();
    const spec = parseEventSubscriptionPut(body, { scope, name, topicInputSchema, now });
    const id = eventSubscriptionId(scope, name);
    const existing = await this.store.getEventSubscription(id.toLowerCase());
    const at = now.toISOString();
    const rec: EventSubscriptionRecord = {
      key: id.toLowerCase(),
      id: existing?.id ?? id,
      scopeKey: scope.toLowerCase(),
      name: existing?.name ?? name,
      spec,
      provisioningState: 'Succeeded',
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
    const { created } = await this.store.putEventSubscription(rec);
    this.remember(rec);
    return { created, out: render(rec) };
  }

  async get(scope: string, name: string): Promise<EventSubscriptionOut> {
    return render(await this.require(scope, name));
  }

  async patch(rawScope: string, name: string, body: unknown): Promise<EventSubscriptionOut> {
    const rec = await this.require(rawScope, name);
    const scope = normalizeResourceId(rawScope);
    const spec = applyEventSubscriptionPatch(rec.spec as EventSubscriptionSpec, body, {
      scope,
      name: rec.name,
      topicInputSchema: await this.scopeInputSchema(scope),
      now: this.now(),
    });
    const next = { ...rec, spec, updatedAt: this.now().toISOString() };
    await this.store.putEventSubscription(next);
    this.remember(next);
    return render(next);
  }

  async delete(scope: string, name: string): Promise<boolean> {
    const key = eventSubscriptionId(normalizeResourceId(scope), name).toLowerCase();
    const deleted = await this.store.deleteEventSubscription(key);
    this.forget(key);
    return deleted;
  }

  async list(scope: string): Promise<EventSubscriptionOut[]> {
    return (await this.store.listEventSubscriptions(normalizeResourceId(scope).toLowerCase())).map(render);
  }

  async getFullUrl(scope: string, name: string): Promise<{ endpointUrl: string }> {
    return { endpointUrl: fullEndpointUrl((await this.require(scope, name)).spec as EventSubscriptionSpec) };
  }

  async getDeliveryAttributes(scope: string, name: string): Promise<{ value: DeliveryAttributeMapping[] }> {
    return { value: deliveryAttributes((await this.require(scope, name)).spec as EventSubscriptionSpec) };
  }

  async deliveries(
    scope: string,
    name: string,
    q: { status?: DeliveryStatus; after?: string; limit: number },
  ): Promise<DeliveryView[]> {
    const rec = await this.require(scope, name);
    return this.store.listDeliveries(rec.key, q);
  }

  forget(key: string): void {
    this.index.remove(key);
  }

  private remember(r: EventSubscriptionRecord): void {
    const spec = r.spec as EventSubscriptionSpec;
    this.index.upsert({ key: r.key, scopeKey: r.scopeKey, filter: spec.filter });
  }

  private async require(scope: string, name: string): Promise<EventSubscriptionRecord> {
    const id = eventSubscriptionId(normalizeResourceId(scope), name);
    const rec = await this.store.getEventSubscription(id.toLowerCase());
    if (!rec) throw notFound('event subscription', id);
    return rec;
  }

  /** A custom-topic scope must exist; its input schema constrains the delivery schema. */
  private async scopeInputSchema(scope: string): Promise<InputSchema | undefined> {
    if (!TOPIC_SCOPE.test(scope)) return undefined;
    const topic = await this.store.getTopic(scope.toLowerCase());
    if (!topic) {
      throw new MlgridError('ResourceNotFound', `The source topic '${scope}' was not found.`, 'scope', [
        { code: 'ResourceNotFound', message: 'create the topic first', target: 'scope' },
      ]);
    }
    return (topic.spec as TopicSpec).inputSchema;
  }
}

function render(r: EventSubscriptionRecord): EventSubscriptionOut {
  const spec = r.spec as EventSubscriptionSpec;
  return renderEventSubscription(spec, {
    id: r.id,
    provisioningState: r.provisioningState as EventSubscriptionOut['properties']['provisioningState'],
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    topic: spec.scope,
  });
}

export function parseDeliveryStatus(v: unknown): DeliveryStatus | undefined {
  if (v === undefined) return undefined;
  if (v === 'pending' || v === 'delivered' || v === 'deadlettered' || v === 'dropped') return v;
  throw invalid('status', 'must be pending, delivered, deadlettered or dropped');
}
