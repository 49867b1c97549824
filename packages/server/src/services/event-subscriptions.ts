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
import { isWorkspaceId } from '../core/ml-events.js';
import { keysEqual } from '../core/sas.js';
import { nextSigning, requestedSigning, rotate, signingOf, type SigningState } from '../core/signing.js';
import type { TopicSpec } from '../core/topic.js';
import type { DeliveryStatus, DeliveryView, EventSubscriptionRecord, Store } from '../store/types.js';
import type { ValidationOutcome, WebhookValidator } from './webhook-validation.js';

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
    /** Runs the webhook validation handshake; absent = endpoints are trusted (`--webhook-validation off`). */
    private readonly validator?: WebhookValidator,
    /** Whether a local function exists, for AzureFunction destinations; absent = not checked. */
    private readonly functionExists?: (resourceId: string) => Promise<boolean>,
  ) {}

  private refreshing: Promise<void> = Promise.resolve();
  private readonly records = new Map<string, EventSubscriptionRecord>();

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
    baseUrl = '',
  ): Promise<{ created: boolean; out: EventSubscriptionOut }> {
    const scope = normalizeResourceId(rawScope);
    validateSubscriptionName(name);
    const topicInputSchema = await this.scopeInputSchema(scope);
    const now = this.now();
    const spec = parseEventSubscriptionPut(body, { scope, name, topicInputSchema, now });
    const id = eventSubscriptionId(scope, name);
    const existing = await this.store.getEventSubscription(id.toLowerCase());
    await this.checkFunction(existing?.spec as EventSubscriptionSpec | undefined, spec);
    const state = await this.validation(existing, existing?.id ?? id, spec, baseUrl);
    const signing = nextSigning(signingOf(existing), requestedSigning(body, false), now);
    const at = now.toISOString();
    const rec: EventSubscriptionRecord = {
      key: id.toLowerCase(),
      id: existing?.id ?? id,
      scopeKey: scope.toLowerCase(),
      name: existing?.name ?? name,
      spec: { ...spec, ...(signing ? { signing } : {}) },
      ...state,
      createdAt: existing?.createdAt ?? at,
      updatedAt: at,
    };
    const { created } = await this.store.putEventSubscription(rec);
    this.remember(rec);
    return { created, out: render(rec) };
  }

  /** Handshake when the webhook endpoint (or the handshake kind) is new; otherwise keep the current state. */
  private async validation(
    existing: EventSubscriptionRecord | undefined,
    id: string,
    spec: EventSubscriptionSpec,
    baseUrl: string,
  ): Promise<
    | ValidationOutcome
    | Pick<EventSubscriptionRecord, 'provisioningState' | 'validationCode' | 'validationDeadline'>
  > {
    const target = handshakeTarget(spec);
    if (existing && handshakeTarget(existing.spec as EventSubscriptionSpec) === target) {
      const { provisioningState, validationCode, validationDeadline } = existing;
      return { provisioningState, validationCode, validationDeadline };
    }
    if (!this.validator || target === undefined) return { provisioningState: 'Succeeded' };
    return this.validator.validate({ id, spec, baseUrl });
  }

  /**
   * Azure refuses an AzureFunction destination whose function does not exist ("Destination endpoint not
   * found"); so does mlgrid, when the destination is new or names another function. A function deleted later
   * is the dispatcher's business: its deliveries are retried, then dead-lettered.
   */
  private async checkFunction(before: EventSubscriptionSpec | undefined, spec: EventSubscriptionSpec) {
    const target = functionTarget(spec);
    if (!this.functionExists || target === undefined || target === functionTarget(before)) return;
    if (await this.functionExists(target)) return;
    throw invalid(
      'properties.destination.properties.resourceId',
      `Destination endpoint not found: no function '${spec.destination!.properties.resourceId}' exists ` +
        '(create it first: mlgrid function create, or PUT the function resource)',
    );
  }

  /** The validationUrl was opened: accept it once, before the deadline. */
  async validateManually(id: string, code: string): Promise<boolean> {
    const rec = await this.store.getEventSubscription(id.toLowerCase());
    if (!rec || rec.provisioningState !== 'AwaitingManualAction' || !rec.validationCode) return false;
    if (!keysEqual(code, rec.validationCode) || (rec.validationDeadline ?? 0) < this.now().getTime())
      return false;
    await this.store.setProvisioning(rec.key, { provisioningState: 'Succeeded' });
    this.remember({
      ...rec,
      provisioningState: 'Succeeded',
      validationCode: undefined,
      validationDeadline: undefined,
    });
    return true;
  }

  /** Subscriptions whose manual validation window closed become Failed (as in Azure). */
  async expireValidations(): Promise<number> {
    const now = this.now().getTime();
    let n = 0;
    for (const rec of [...this.records.values()]) {
      if (rec.provisioningState === 'AwaitingManualAction' && (rec.validationDeadline ?? 0) < now) {
        await this.store.setProvisioning(rec.key, { provisioningState: 'Failed' });
        this.remember({
          ...rec,
          provisioningState: 'Failed',
          validationCode: undefined,
          validationDeadline: undefined,
        });
        n++;
      }
    }
    return n;
  }

  /** Subscriptions past `expirationTimeUtc` are deleted, as Azure does. */
  async deleteExpired(): Promise<number> {
    const now = this.now().getTime();
    let n = 0;
    for (const rec of [...this.records.values()]) {
      const exp = (rec.spec as EventSubscriptionSpec).expirationTimeUtc;
      if (exp !== undefined && Date.parse(exp) <= now) {
        await this.store.deleteEventSubscription(rec.key);
        this.forget(rec.key);
        n++;
      }
    }
    return n;
  }

  async get(scope: string, name: string): Promise<EventSubscriptionOut> {
    return render(await this.require(scope, name));
  }

  async patch(rawScope: string, name: string, body: unknown, baseUrl = ''): Promise<EventSubscriptionOut> {
    const rec = await this.require(rawScope, name);
    const scope = normalizeResourceId(rawScope);
    const spec = applyEventSubscriptionPatch(rec.spec as EventSubscriptionSpec, body, {
      scope,
      name: rec.name,
      topicInputSchema: await this.scopeInputSchema(scope),
      now: this.now(),
    });
    await this.checkFunction(rec.spec as EventSubscriptionSpec, spec);
    const state = await this.validation(rec, rec.id, spec, baseUrl);
    const signing = nextSigning(signingOf(rec), requestedSigning(body, true), this.now());
    delete (spec as { signing?: unknown }).signing; // the patch carried the stored state over; `signing` decides
    const next = {
      ...rec,
      spec: { ...spec, ...(signing ? { signing } : {}) },
      ...state,
      updatedAt: this.now().toISOString(),
    };
    await this.store.putEventSubscription(next);
    this.remember(next);
    return render(next);
  }

  async delete(scope: string, name: string): Promise<boolean> {
    const key = eventSubscriptionId(normalizeResourceId(scope), name).toLowerCase();
    const rec = await this.store.getEventSubscription(key);
    const deleted = await this.store.deleteEventSubscription(key);
    this.forget(key);
    if (rec && this.validator) {
      this.validator.notifyDeleted(rec.id, rec.spec as EventSubscriptionSpec).catch(() => {}); // best effort
    }
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

  /** The current record of a subscription this node routes for (the dispatcher's view). */
  record(key: string): EventSubscriptionRecord | undefined {
    return this.records.get(key);
  }

  async getSigningSecrets(scope: string, name: string): Promise<{ value: SigningState['secrets'] }> {
    return { value: signingOf(await this.require(scope, name))?.secrets ?? [] };
  }

  async rotateSigningSecret(
    scope: string,
    name: string,
    body: unknown,
  ): Promise<{ value: SigningState['secrets'] }> {
    const rec = await this.require(scope, name);
    const current = signingOf(rec);
    if (!current) throw invalid('signing', 'signing is not enabled on this event subscription');
    const grace = (body as { graceMinutes?: unknown } | undefined)?.graceMinutes ?? 1440;
    if (typeof grace !== 'number' || !Number.isInteger(grace) || grace < 0 || grace > 43_200) {
      throw invalid('graceMinutes', 'must be an integer from 0 to 43200');
    }
    const signing = rotate(current, grace, this.now());
    const next = { ...rec, spec: { ...(rec.spec as object), signing }, updatedAt: this.now().toISOString() };
    await this.store.putEventSubscription(next);
    this.remember(next);
    return { value: signing.secrets };
  }

  /** The stored record behind a scope and name (404 when absent). */
  async find(scope: string, name: string): Promise<EventSubscriptionRecord> {
    return this.require(scope, name);
  }

  forget(key: string): void {
    this.index.remove(key);
    this.records.delete(key);
  }

  private remember(r: EventSubscriptionRecord): void {
    const spec = r.spec as EventSubscriptionSpec;
    this.index.upsert({ key: r.key, scopeKey: r.scopeKey, filter: spec.filter });
    this.records.set(r.key, r);
  }

  private async require(scope: string, name: string): Promise<EventSubscriptionRecord> {
    const id = eventSubscriptionId(normalizeResourceId(scope), name);
    const rec = await this.store.getEventSubscription(id.toLowerCase());
    if (!rec) throw notFound('event subscription', id);
    return rec;
  }

  /** A custom-topic scope must exist; its input schema constrains the delivery schema. */
  private async scopeInputSchema(scope: string): Promise<InputSchema | undefined> {
    if (isWorkspaceId(scope)) {
      // A workspace is a system topic: it must exist, and it raises Event Grid schema events.
      if (!(await this.store.getWorkspace(scope.toLowerCase()))) {
        throw new MlgridError('ResourceNotFound', `The source workspace '${scope}' was not found.`, 'scope');
      }
      return 'EventGridSchema';
    }
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

/** What a handshake proves: this URL accepts this kind of delivery. */
function handshakeTarget(spec: EventSubscriptionSpec): string | undefined {
  const d = spec.destination;
  if (d?.endpointType !== 'WebHook' || !d.properties.endpointUrl) return undefined;
  return `${spec.eventDeliverySchema === 'CloudEventSchemaV1_0' ? 'ce' : 'eg'} ${d.properties.endpointUrl}`;
}

/** The function an AzureFunction destination names, lower-cased (ARM ids are case-insensitive). */
function functionTarget(spec: EventSubscriptionSpec | undefined): string | undefined {
  const d = spec?.destination;
  return d?.endpointType === 'AzureFunction' ? d.properties.resourceId?.toLowerCase() : undefined;
}

function render(r: EventSubscriptionRecord): EventSubscriptionOut {
  const spec = r.spec as EventSubscriptionSpec;
  const out = renderEventSubscription(spec, {
    id: r.id,
    provisioningState: r.provisioningState as EventSubscriptionOut['properties']['provisioningState'],
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
    topic: spec.scope,
  });
  // mlgrid extension; the secrets themselves only through getSigningSecrets.
  if (signingOf(r)) out.properties.signing = { enabled: true };
  return out;
}

export function parseDeliveryStatus(v: unknown): DeliveryStatus | undefined {
  if (v === undefined) return undefined;
  if (v === 'pending' || v === 'delivered' || v === 'deadlettered' || v === 'dropped') return v;
  throw invalid('status', 'must be pending, delivered, deadlettered or dropped');
}
