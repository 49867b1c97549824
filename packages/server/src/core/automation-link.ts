/**
 * The address of the object an event is about, on this mlgrid: the ARM URL of the model version, job, online
 * endpoint or drift monitor (there is no web portal yet, so the API resource is the object's page). Pure.
 */
import type { TriggerEvent } from './automation-step.js';
import { isWorkspaceId } from './ml-events.js';

/** `baseUrl` + the object's ARM id, or undefined when there is no base URL or nothing to point at. */
export function objectLink(event: TriggerEvent, baseUrl: string | undefined): string | undefined {
  if (!baseUrl) return undefined;
  const path = objectPath(event);
  return path === undefined ? undefined : `${baseUrl.replace(/\/+$/, '')}${path}`;
}

/** The object's ARM id (path part), derived from the topic and the subject as Azure ML shapes them. */
export function objectPath(event: TriggerEvent): string | undefined {
  const topic = event.topic;
  if (!topic || !topic.startsWith('/subscriptions/')) return undefined;
  if (!isWorkspaceId(topic)) return topic; // a custom topic or another resource: the resource itself
  const seg = event.subject.split('/').map((s) => encodeURIComponent(s));
  const data = (typeof event.data === 'object' && event.data !== null ? event.data : {}) as Record<
    string,
    unknown
  >;
  const model = /^models\/([^/:]+):([^/]+)$/.exec(event.subject);
  if (model) {
    return `${topic}/models/${encodeURIComponent(model[1]!)}/versions/${encodeURIComponent(model[2]!)}`;
  }
  if (seg[0] === 'experiments' && seg[2] === 'runs' && seg[3]) return `${topic}/jobs/${seg[3]}`;
  if (seg[0] === 'endpoints' && seg[1]) return `${topic}/onlineEndpoints/${seg[1]}`;
  if (seg[0] === 'datadrift' && typeof data.dataDriftName === 'string') {
    return `${topic}/dataDriftDetectors/${encodeURIComponent(data.dataDriftName)}`;
  }
  return topic;
}
