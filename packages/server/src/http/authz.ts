/**
 * Who is calling and may they: the Bearer token is the admin key (the bootstrap super-user, allowed
 * everything) or a principal's API key, whose role assignments must grant the request's operation over its
 * resource (core/rbac.ts). Unauthenticated is 401; authenticated but not allowed is Azure's 403
 * `AuthorizationFailed`. The operation comes from the path and method alone, so every route below
 * `/subscriptions/` is covered, including kinds added after this file.
 */
import type { FastifyRequest } from 'fastify';
import { invalid, MlgridError } from '../core/errors.js';
import {
  armOperation,
  authorizationFailedMessage,
  isAllowed,
  PUBLISH_ACTION,
  type Operation,
} from '../core/rbac.js';
import type { AccessService, PrincipalIdentity } from '../services/access.js';
import type { AdminAuth } from './admin-auth.js';
import { normalizePath } from './arm-path.js';

export type Identity = { kind: 'admin' } | PrincipalIdentity;

declare module 'fastify' {
  interface FastifyRequest {
    mlgridIdentity?: Identity;
  }
}

/** The operation an HTTP request performs on the ARM surface (Azure's action name and the resource id). */
export function requestOperation(method: string, rawPath: string): Operation {
  const path = normalizePath(rawPath.split('?')[0]!);
  let segs: string[];
  try {
    segs = path.split('/').slice(1).map(decodeURIComponent);
  } catch {
    segs = path.split('/').slice(1);
  }
  // Scopes compare as strings: `rg1/../rg2` or `rg1%2F..` must not pass for a resource below rg1.
  if (segs.some((s) => s === '.' || s === '..' || s.includes('/'))) {
    throw invalid('path', 'a resource id has no "." or ".." segments and no encoded "/"', 'InvalidArgument');
  }
  return armOperation(segs, method);
}

export class Authorizer {
  constructor(
    private readonly admin: AdminAuth,
    private readonly access: AccessService,
  ) {}

  /** 401 unless the request carries the admin key or a principal's key as a Bearer token. */
  async authenticate(req: FastifyRequest): Promise<Identity> {
    if (req.mlgridIdentity) return req.mlgridIdentity;
    const key = this.admin.bearer(req);
    if (!key) {
      throw new MlgridError(
        'Unauthorized',
        'Authentication required: send the admin key or an API key as `Authorization: Bearer <key>`.',
      );
    }
    const id: Identity | undefined = this.admin.verify(key)
      ? { kind: 'admin' }
      : await this.access.principalByKey(key);
    if (!id) throw new MlgridError('Unauthorized', 'The bearer key is not valid for this server.');
    req.mlgridIdentity = id;
    return id;
  }

  /** 401 / 403 unless the caller may perform `op` (`data`: a data-plane action such as publish). */
  async require(req: FastifyRequest, op: Operation & { data?: boolean }): Promise<Identity> {
    const id = await this.authenticate(req);
    if (id.kind === 'admin') return id;
    if (!isAllowed(await this.access.assignmentsOf(id.objectId), op)) throw refusal(id, op);
    return id;
  }

  /** An ARM request: its operation is derived from its path and method. */
  arm(req: FastifyRequest): Promise<Identity> {
    return this.require(req, requestOperation(req.method, req.url));
  }

  /** Publishing with a Bearer key: Azure's data action on the topic (EventGrid Data Sender). */
  publish(req: FastifyRequest, topicId: string): Promise<Identity> {
    return this.require(req, { action: PUBLISH_ACTION, resourceId: topicId, data: true });
  }

  /** Routes no role grants (principal management): the admin key, or `self` when it is the caller. */
  async adminOr(req: FastifyRequest, self?: (id: PrincipalIdentity) => boolean): Promise<Identity> {
    const id = await this.authenticate(req);
    if (id.kind === 'admin' || self?.(id)) return id;
    throw refusal(id, requestOperation(req.method, req.url));
  }
}

function refusal(id: PrincipalIdentity, op: Operation): MlgridError {
  return new MlgridError('AuthorizationFailed', authorizationFailedMessage(id, op));
}
