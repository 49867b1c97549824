/**
 * Online endpoints (Azure ML ARM shapes, api-version 2022-10-01) and their scoring URI: a request to
 * `/endpoints/{name}/score` goes to one of the endpoint's deployments by its traffic split (or the one named by
 * the `azureml-model-deployment` header, as in Azure). Endpoint names are unique per server, as they name the URI.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { invalid, MlgridError, notFound } from '../core/errors.js';
import type { WorkspaceRef } from '../core/ml-events.js';
import {
  applyEndpointPatch,
  parseEndpointPut,
  pickDeployment,
  renderEndpoint,
  validateEndpointName,
  type EndpointKeys,
  type EndpointSpec,
} from '../core/online-endpoint.js';
import { object, oneOf, optString } from '../core/validate.js';
import type { ResourceRecord, Store, WorkspaceRecord } from '../store/types.js';
import type { DeploymentService } from './deployments.js';
import { requireWorkspace } from './require-workspace.js';

export const ENDPOINT_KIND = 'onlineEndpoint';

interface EndpointDoc {
  spec: EndpointSpec;
  keys: EndpointKeys;
}

export class EndpointService {
  constructor(
    private readonly store: Store,
    private readonly deployments: DeploymentService,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async put(ref: WorkspaceRef, name: string, body: unknown, base: string) {
    const ws = await requireWorkspace(this.store, ref);
    validateEndpointName(name);
    const key = endpointKey(ws, name);
    const taken = (await this.store.listResources({ kind: ENDPOINT_KIND, lookup: name.toLowerCase() })).find(
      (r) => r.key !== key,
    );
    if (taken) {
      throw new MlgridError(
        'Conflict',
        `An online endpoint named '${name}' exists in another workspace.`,
        'name',
      );
    }
    const current = await this.store.getResource(key);
    const doc = current?.spec as EndpointDoc | undefined;
    const spec = parseEndpointPut(body, doc?.spec);
    await this.checkTraffic(key, spec.traffic);
    const next: EndpointDoc = { spec, keys: doc?.keys ?? { primaryKey: newKey(), secondaryKey: newKey() } };
    const at = this.now().toISOString();
    const { created, rec } = await this.store.putResource(
      {
        key,
        kind: ENDPOINT_KIND,
        parentKey: ws.key,
        name,
        lookup: name.toLowerCase(),
        spec: next,
        createdAt: at,
        updatedAt: at,
      },
      this.now().getTime(),
    );
    return { created, out: render(ws, rec!, base) };
  }

  async get(ref: WorkspaceRef, name: string, base: string) {
    const ws = await requireWorkspace(this.store, ref);
    return render(ws, await this.require(ws, name), base);
  }

  async list(ref: WorkspaceRef, base: string) {
    const ws = await requireWorkspace(this.store, ref);
    return (await this.store.listResources({ kind: ENDPOINT_KIND, parentKey: ws.key })).map((r) =>
      render(ws, r, base),
    );
  }

  async patch(ref: WorkspaceRef, name: string, body: unknown, base: string) {
    const ws = await requireWorkspace(this.store, ref);
    const rec = await this.require(ws, name);
    const doc = rec.spec as EndpointDoc;
    const spec = applyEndpointPatch(doc.spec, body);
    await this.checkTraffic(rec.key, spec.traffic);
    const { rec: stored } = await this.store.putResource(
      { ...rec, spec: { ...doc, spec }, updatedAt: this.now().toISOString() },
      this.now().getTime(),
    );
    return render(ws, stored!, base);
  }

  /** Stops the endpoint's scoring processes, then deletes it with its deployments. */
  async delete(ref: WorkspaceRef, name: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    const key = endpointKey(ws, name);
    await this.deployments.stopEndpoint(key);
    return this.store.deleteResource(key, this.now().getTime());
  }

  async listKeys(ref: WorkspaceRef, name: string): Promise<EndpointKeys> {
    const ws = await requireWorkspace(this.store, ref);
    const doc = (await this.require(ws, name)).spec as EndpointDoc;
    if (doc.spec.authMode !== 'Key') {
      throw new MlgridError(
        'Conflict',
        `Endpoint '${name}' uses ${doc.spec.authMode} authentication, not keys.`,
      );
    }
    return { ...doc.keys };
  }

  /** Azure's body: `{keyType: "Primary"|"Secondary", keyValue?}`; a new random key when no value is given. */
  async regenerateKeys(ref: WorkspaceRef, name: string, body: unknown): Promise<void> {
    const ws = await requireWorkspace(this.store, ref);
    const rec = await this.require(ws, name);
    const b = object(body, '(body)');
    const which = oneOf(b.keyType, 'keyType', ['Primary', 'Secondary'] as const);
    const value = optString(b.keyValue, 'keyValue', { min: 16, max: 256 }) ?? newKey();
    const doc = structuredClone(rec.spec as EndpointDoc);
    doc.keys[which === 'Primary' ? 'primaryKey' : 'secondaryKey'] = value;
    await this.store.putResource(
      { ...rec, spec: doc, updatedAt: this.now().toISOString() },
      this.now().getTime(),
    );
  }

  /**
   * A scoring request. Key endpoints take `Authorization: Bearer <primary or secondary key>`; token endpoints
   * take the server's API credentials (the admin key, or a principal allowed Azure's score action).
   */
  async score(
    name: string,
    req: { bearer?: string; deployment?: string; body: Buffer; contentType?: string },
    /** Token endpoints: throws 401/403 unless the caller may score the endpoint (its ARM id). */
    authorizeToken: (endpointId: string) => Promise<void>,
  ) {
    const rec = (await this.store.listResources({ kind: ENDPOINT_KIND, lookup: name.toLowerCase() }))[0];
    if (!rec) throw notFound('online endpoint', name);
    const doc = rec.spec as EndpointDoc;
    if (req.bearer === undefined) {
      throw new MlgridError('Unauthorized', 'Send the endpoint key as `Authorization: Bearer <key>`.');
    }
    if (doc.spec.authMode !== 'Key') {
      const ws = await this.store.getWorkspace(rec.parentKey);
      await authorizeToken(`${ws!.id}/onlineEndpoints/${rec.name}`);
    } else if (
      !sameSecret(req.bearer, doc.keys.primaryKey) &&
      !sameSecret(req.bearer, doc.keys.secondaryKey)
    ) {
      throw new MlgridError('Unauthorized', 'The key is not valid for this endpoint.');
    }
    const deployment = req.deployment?.toLowerCase() ?? pickDeployment(doc.spec.traffic, Math.random());
    if (deployment === undefined) {
      throw new MlgridError(
        'ServiceUnavailable',
        `Endpoint '${name}' routes no traffic: set properties.traffic, or name a deployment in the azureml-model-deployment header.`,
      );
    }
    const out = await this.deployments.score(rec.key, deployment, req.body, req.contentType);
    return { ...out, deployment };
  }

  private async checkTraffic(key: string, traffic: Record<string, number>): Promise<void> {
    const names = new Set((await this.deployments.namesOf(key)).map((n) => n.toLowerCase()));
    for (const d of Object.keys(traffic)) {
      if (!names.has(d)) throw invalid(`properties.traffic.${d}`, `names no deployment of this endpoint`);
    }
  }

  private async require(ws: WorkspaceRecord, name: string): Promise<ResourceRecord> {
    const rec = await this.store.getResource(endpointKey(ws, name));
    if (!rec) throw notFound('online endpoint', `${ws.id}/onlineEndpoints/${name}`);
    return rec;
  }
}

export function endpointKey(ws: WorkspaceRecord, name: string): string {
  return `${ws.key}/onlineendpoints/${name.toLowerCase()}`;
}

export function scoringUri(base: string, name: string): string {
  return `${base}/endpoints/${encodeURIComponent(name)}/score`;
}

function render(ws: WorkspaceRecord, rec: ResourceRecord, base: string) {
  const doc = rec.spec as EndpointDoc;
  return renderEndpoint(doc.spec, {
    id: `${ws.id}/onlineEndpoints/${rec.name}`,
    name: rec.name,
    createdAt: rec.createdAt,
    updatedAt: rec.updatedAt,
    scoringUri: scoringUri(base, rec.name),
    state: 'Succeeded',
  });
}

function newKey(): string {
  return randomBytes(24).toString('base64url');
}

function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
