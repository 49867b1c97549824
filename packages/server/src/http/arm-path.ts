/**
 * Parses Azure Resource Manager paths mlgrid serves. Event subscriptions are extension resources on any
 * scope, and a scope may itself contain `/providers/`, so the event-subscription segment is searched last.
 */
export type ArmTarget =
  | {
      kind: 'topic';
      subscriptionId: string;
      resourceGroup: string;
      name: string;
      action?: 'listKeys' | 'regenerateKey';
    }
  | { kind: 'topics'; subscriptionId: string; resourceGroup?: string }
  | {
      kind: 'eventSubscription';
      scope: string;
      name: string;
      action?: EventSubscriptionAction;
    }
  | { kind: 'eventSubscriptions'; scope: string }
  | MlTarget
  | FunctionTarget;

import { functionAllowedMethods, parseFunctionPath, type FunctionTarget } from './function-path.js';
import { mlAllowedMethods, parseMlPath, type MlTarget } from './ml-path.js';

const EG = 'providers/microsoft.eventgrid/';

/** `//subscriptions//x/` → `/subscriptions/x` (the ARM SDK sends a double leading slash). */
export function normalizePath(rawPath: string): string {
  const p = rawPath.replace(/\/{2,}/g, '/').replace(/\/$/, '');
  return p.startsWith('/') ? p : `/${p}`;
}

export function parseArmPath(rawPath: string): ArmTarget | undefined {
  const path = normalizePath(rawPath);
  let seg: string[];
  try {
    seg = path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    return undefined;
  }
  const lower = seg.map((s) => s.toLowerCase());
  if (lower[0] !== 'subscriptions' || !seg[1]) return undefined;

  // {scope}/providers/Microsoft.EventGrid/eventSubscriptions[/{name}[/action]]
  const lowerPath = lower.join('/');
  const at = lowerPath.lastIndexOf(`/${EG}eventsubscriptions`);
  if (at >= 0) {
    const scopeSegs = lowerPath.slice(0, at).split('/').length;
    const scope = '/' + seg.slice(0, scopeSegs).join('/');
    const rest = seg.slice(scopeSegs + 3);
    if (rest.length === 0) return { kind: 'eventSubscriptions', scope };
    const action = eventSubscriptionAction(rest[1]);
    if (rest.length > 2 || (rest.length === 2 && !action)) return undefined;
    return { kind: 'eventSubscription', scope, name: rest[0]!, ...(action ? { action } : {}) };
  }

  const ml = parseMlPath(seg, lower) ?? parseFunctionPath(seg, lower);
  if (ml) return ml;

  // /subscriptions/{s}/providers/Microsoft.EventGrid/topics
  if (
    lower.length === 5 &&
    lower[2] === 'providers' &&
    lower[3] === 'microsoft.eventgrid' &&
    lower[4] === 'topics'
  ) {
    return { kind: 'topics', subscriptionId: seg[1] };
  }
  if (
    lower[2] !== 'resourcegroups' ||
    !seg[3] ||
    lower[4] !== 'providers' ||
    lower[5] !== 'microsoft.eventgrid'
  ) {
    return undefined;
  }
  if (lower[6] !== 'topics') return undefined;
  const base = { subscriptionId: seg[1], resourceGroup: seg[3] };
  if (lower.length === 7) return { kind: 'topics', ...base };
  const name = seg[7]!;
  if (lower.length === 8) return { kind: 'topic', ...base, name };
  // Topic event subscriptions (`.../topics/{t}/eventSubscriptions/{n}`), the TopicEventSubscriptions operations.
  if (lower[8] === 'eventsubscriptions') {
    const scope = '/' + seg.slice(0, 8).join('/');
    if (lower.length === 9) return { kind: 'eventSubscriptions', scope };
    const action = eventSubscriptionAction(seg[10]);
    if (lower.length > 11 || (lower.length === 11 && !action)) return undefined;
    return { kind: 'eventSubscription', scope, name: seg[9]!, ...(action ? { action } : {}) };
  }
  if (lower.length === 9 && (lower[8] === 'listkeys' || lower[8] === 'regeneratekey')) {
    return { kind: 'topic', ...base, name, action: lower[8] === 'listkeys' ? 'listKeys' : 'regenerateKey' };
  }
  return undefined;
}

/** mlgrid's actions beside Azure's getFullUrl / getDeliveryAttributes, with the method each takes. */
export const EVENT_SUBSCRIPTION_ACTIONS = {
  getfullurl: ['getFullUrl', 'POST'],
  getdeliveryattributes: ['getDeliveryAttributes', 'POST'],
  deliveries: ['deliveries', 'GET'],
  deliveryattempts: ['deliveryAttempts', 'GET'],
  deadletters: ['deadLetters', 'GET'],
  redrive: ['redrive', 'POST'],
  replay: ['replay', 'POST'],
  getsigningsecrets: ['getSigningSecrets', 'POST'],
  rotatesigningsecret: ['rotateSigningSecret', 'POST'],
} as const;
type ActionKey = keyof typeof EVENT_SUBSCRIPTION_ACTIONS;
export type EventSubscriptionAction = (typeof EVENT_SUBSCRIPTION_ACTIONS)[ActionKey][0];

function eventSubscriptionAction(s: string | undefined): EventSubscriptionAction | undefined {
  return s === undefined ? undefined : EVENT_SUBSCRIPTION_ACTIONS[s.toLowerCase() as ActionKey]?.[0];
}

/** The HTTP methods each target accepts (a wrong method is a 405, not a 404). */
export function allowedMethods(t: ArmTarget): string[] {
  switch (t.kind) {
    case 'topic':
      return t.action ? ['POST'] : ['PUT', 'GET', 'PATCH', 'DELETE'];
    case 'topics':
    case 'eventSubscriptions':
      return ['GET'];
    case 'eventSubscription':
      if (!t.action) return ['PUT', 'GET', 'PATCH', 'DELETE'];
      return [Object.values(EVENT_SUBSCRIPTION_ACTIONS).find(([a]) => a === t.action)![1]];
    case 'functions':
    case 'function':
      return functionAllowedMethods(t);
    default:
      return mlAllowedMethods(t);
  }
}
