/** The route catalogue's entry: one HTTP operation, enough to render OpenAPI and to find a body's schema. */
import type { AuthorizationTarget, ConnectionTarget, PrincipalTarget } from '../access-path.js';
import type { ArmTarget } from '../arm-path.js';
import { ref, type Schema } from './kit.js';

type ActionOf<T> = T extends { action?: infer A } ? A : never;

/** The ARM target a path template parses to: kind and (typed) action, e.g. `{kind: 'topic', action: 'listKeys'}`. */
export type ArmOp = {
  [K in ArmTarget['kind']]: { kind: K; action?: ActionOf<Extract<ArmTarget, { kind: K }>> };
}[ArmTarget['kind']];

export type Method = 'get' | 'put' | 'patch' | 'delete' | 'post' | 'options';
export type Security = 'admin' | 'publish' | 'none' | 'endpointKey' | 'adminOrJobToken';

export interface Reply {
  description: string;
  /** A component name, or an inline schema; absent = no body. */
  schema?: string | Schema;
  /** Default application/json. */
  contentType?: string;
  headers?: Record<string, string>;
}

export interface QueryParam {
  name: string;
  description: string;
  schema: Schema;
  required?: boolean;
}

export interface Operation {
  operationId: string;
  method: Method;
  /** OpenAPI path template; `{scope}` is a resource id without its leading slash (it contains slashes). */
  path: string;
  summary: string;
  description?: string;
  tag: string;
  security: Security;
  /** ARM operations: the target `parseArmPath` yields for this path (the validation lookup key). */
  arm?: ArmOp;
  /** Access-control routes (http/access-path.ts), dispatched apart from the ARM targets. */
  access?: { kind: AuthorizationTarget['kind'] | PrincipalTarget['kind'] | ConnectionTarget['kind'] };
  /** false: the body schema documents what the route's parser accepts but is not applied (yet). */
  validated?: false;
  query?: QueryParam[];
  /** The component schema validating the JSON body. */
  body?: { schema: string; required: boolean; contentTypes?: Record<string, string | Schema> };
  responses: Record<string, Reply>;
}

export const API_VERSION = (value: string): QueryParam => ({
  name: 'api-version',
  description: `Any value is accepted; Azure's SDKs send ${value}.`,
  schema: { type: 'string', examples: [value] },
});

export const json = (schema: string | Schema, description: string): Reply => ({ description, schema });

export const listOf = (item: string, description = 'The list.'): Reply => ({
  description,
  schema: {
    type: 'object',
    required: ['value'],
    properties: { value: { type: 'array', items: ref(item) }, nextLink: { type: 'string' } },
  },
});

export const NO_CONTENT: Reply = { description: 'Nothing to do (absent).' };
export const DELETED: Reply = { description: 'Deleted.' };

/** `kind[:action] METHOD`, the lookup key shared by the catalogue and the ARM catch-all. */
export function armKey(kind: string, action: string | undefined, method: string): string {
  return `${kind}${action ? `:${action}` : ''} ${method.toUpperCase()}`;
}
