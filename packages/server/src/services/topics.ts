/** Custom topics: the ARM operations behind `/subscriptions/.../providers/Microsoft.EventGrid/topics`. */
import type { TopicKeys, TopicOut } from '@mlgrid/protocol';
import { invalid, MlgridError, notFound } from '../core/errors.js';
import { newAccessKey } from '../core/sas.js';
import { applyTopicPatch, parseTopicPut, renderTopic, type TopicSpec } from '../core/topic.js';
import { isObject } from '../core/validate.js';
import type { Store, TopicRecord } from '../store/types.js';
import type { EventSubscriptionService } from './event-subscriptions.js';

export interface TopicRef {
  subscriptionId: string;
  resourceGroup: string;
  name: string;
}

export function topicId(r: TopicRef): string {
  return `/subscriptions/${r.subscriptionId}/resourceGroups/${r.resourceGroup}/providers/Microsoft.EventGrid/topics/${r.name}`;
}

/** The path publishers POST to, below the server's base URL. */
export function topicEndpointPath(name: string): string {
  return `/topics/${encodeURIComponent(name)}/api/events`;
}

/** How long the publish route may use a topic record read earlier (other nodes' key changes apply after it). */
const BY_NAME_CACHE_MS = 1000;

export class TopicService {
  /** Topic records by endpoint name (as requested) for the publish route: one store read per topic per second, not per request. */
  private readonly byNameCache = new Map<string, { rec: TopicRecord; at: number }>();

  constructor(
    private readonly store: Store,
    private readonly subscriptions: EventSubscriptionService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async put(ref: TopicRef, body: unknown, baseUrl: string): Promise<{ created: boolean; topic: TopicOut }> {
    const spec = parseTopicPut(body, { name: ref.name });
    const id = topicId(ref);
    const existing = await this.store.getTopic(id.toLowerCase());
    if (existing && (existing.spec as TopicSpec).inputSchema !== spec.inputSchema) {
      throw invalid('properties.inputSchema', 'cannot be changed after the topic is created');
    }
    const at = this.now().toISOString();
    const rec: TopicRecord = existing
      ? { ...existing, spec, updatedAt: at }
      : {
          key: id.toLowerCase(),
          id,
          subscriptionId: ref.subscriptionId,
          resourceGroup: ref.resourceGroup,
          name: ref.name,
          spec,
          key1: newAccessKey(),
          key2: newAccessKey(),
          createdAt: at,
          updatedAt: at,
        };
    const { created } = await this.store.putTopic(rec);
    this.byNameCache.clear();
    return { created, topic: this.render(rec, baseUrl) };
  }

  async get(ref: TopicRef, baseUrl: string): Promise<TopicOut> {
    return this.render(await this.require(ref), baseUrl);
  }

  async patch(ref: TopicRef, body: unknown, baseUrl: string): Promise<TopicOut> {
    const rec = await this.require(ref);
    const next = {
      ...rec,
      spec: applyTopicPatch(rec.spec as TopicSpec, body),
      updatedAt: this.now().toISOString(),
    };
    await this.store.putTopic(next);
    this.byNameCache.clear();
    return this.render(next, baseUrl);
  }

  async delete(ref: TopicRef): Promise<boolean> {
    const key = topicId(ref).toLowerCase();
    const subs = await this.store.listEventSubscriptions(key);
    const deleted = await this.store.deleteTopic(key);
    this.byNameCache.clear();
    for (const s of subs) this.subscriptions.forget(s.key);
    return deleted;
  }

  async list(
    filter: { subscriptionId: string; resourceGroup?: string },
    baseUrl: string,
  ): Promise<TopicOut[]> {
    return (await this.store.listTopics(filter)).map((r) => this.render(r, baseUrl));
  }

  async listKeys(ref: TopicRef): Promise<TopicKeys> {
    const rec = await this.require(ref);
    return { key1: rec.key1, key2: rec.key2 };
  }

  async regenerateKey(ref: TopicRef, body: unknown): Promise<TopicKeys> {
    const rec = await this.require(ref);
    const keyName = isObject(body) ? body.keyName : undefined;
    if (typeof keyName !== 'string' || !/^key[12]$/i.test(keyName))
      throw invalid('keyName', 'must be key1 or key2');
    const next = { ...rec, updatedAt: this.now().toISOString() };
    if (keyName.toLowerCase() === 'key1') next.key1 = newAccessKey();
    else next.key2 = newAccessKey();
    await this.store.putTopic(next);
    this.byNameCache.clear();
    return { key1: next.key1, key2: next.key2 };
  }

  /** For the publish route: the topic behind an endpoint name. */
  async byName(name: string): Promise<TopicRecord> {
    const hit = this.byNameCache.get(name);
    if (hit && Date.now() - hit.at < BY_NAME_CACHE_MS) return hit.rec;
    const rec = await this.store.getTopicByName(name);
    if (!rec) throw new MlgridError('ResourceNotFound', `No topic named '${name}' on this server.`);
    if (this.byNameCache.size >= 10_000) this.byNameCache.clear();
    this.byNameCache.set(name, { rec, at: Date.now() });
    return rec;
  }

  private async require(ref: TopicRef): Promise<TopicRecord> {
    const rec = await this.store.getTopic(topicId(ref).toLowerCase());
    if (!rec) throw notFound('topic', topicId(ref));
    return rec;
  }

  private render(rec: TopicRecord, baseUrl: string): TopicOut {
    return renderTopic(rec.spec as TopicSpec, {
      id: rec.id,
      name: rec.name,
      endpoint: baseUrl + topicEndpointPath(rec.name),
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
    });
  }
}
