/** Online endpoints and deployments: Azure ML's shapes (api-version 2022-10-01) and mlgrid's scoring URI. */
import { API_VERSIONS, seg, type Transport } from './http.js';

const ML = API_VERSIONS.ml;
type List<T> = { value: T[] };

export type ProvisioningState = 'Creating' | 'Updating' | 'Succeeded' | 'Failed' | 'Deleting';

export interface OnlineEndpointIn {
  location?: string;
  tags?: Record<string, string>;
  properties: {
    authMode: 'Key' | 'AMLToken' | 'AADToken';
    description?: string;
    properties?: Record<string, string>;
    /** Deployment name → percent of requests; the values sum to 100 (or 0). */
    traffic?: Record<string, number>;
  };
}

export interface OnlineEndpointOut {
  id: string;
  name: string;
  location: string;
  tags: Record<string, string>;
  properties: OnlineEndpointIn['properties'] & {
    scoringUri: string;
    provisioningState: ProvisioningState;
    traffic: Record<string, number>;
  };
}

export interface OnlineDeploymentIn {
  location?: string;
  tags?: Record<string, string>;
  sku?: { name: string; capacity?: number };
  properties: {
    endpointComputeType?: 'Managed';
    /** A model version's ARM id, or `azureml:{name}:{version}` in the same workspace. */
    model: string;
    /** `codeId`: a local folder (absolute path or file:// URL); `scoringScript`: a .py, .js or .mjs in it. */
    codeConfiguration: { codeId: string; scoringScript: string };
    environmentId?: string;
    environmentVariables?: Record<string, string>;
    description?: string;
    properties?: Record<string, string>;
    instanceType?: string;
    requestSettings?: { requestTimeout?: string };
  };
}

export interface OnlineDeploymentOut {
  id: string;
  name: string;
  tags: Record<string, string>;
  sku?: { name: string; capacity: number };
  properties: OnlineDeploymentIn['properties'] & {
    provisioningState: ProvisioningState;
    /** mlgrid: the deployed model (`name:version`) and, when it failed, why. */
    mlgrid: { modelId?: string; error?: { code: string; message: string } };
  };
}

export interface ScoreResult {
  status: number;
  /** The deployment that answered (`azureml-model-deployment`). */
  deployment: string | null;
  contentType: string | null;
  body: string;
}

interface WorkspaceIds {
  workspaceId(rg: string, name: string): string;
}

export class OnlineEndpoints {
  constructor(
    private readonly http: Transport,
    private readonly ids: WorkspaceIds,
  ) {}
  private path(rg: string, ws: string, name?: string): string {
    const p = `${this.ids.workspaceId(rg, ws)}/onlineEndpoints`;
    return name === undefined ? p : `${p}/${seg(name)}`;
  }
  createOrUpdate(rg: string, ws: string, name: string, body: OnlineEndpointIn): Promise<OnlineEndpointOut> {
    return this.http.json('PUT', this.path(rg, ws, name), { apiVersion: ML, body });
  }
  get(rg: string, ws: string, name: string): Promise<OnlineEndpointOut> {
    return this.http.json('GET', this.path(rg, ws, name), { apiVersion: ML });
  }
  async list(rg: string, ws: string): Promise<OnlineEndpointOut[]> {
    return (await this.http.json<List<OnlineEndpointOut>>('GET', this.path(rg, ws), { apiVersion: ML }))
      .value;
  }
  /** Sets the traffic split (and nothing else) in one request. */
  setTraffic(
    rg: string,
    ws: string,
    name: string,
    traffic: Record<string, number>,
  ): Promise<OnlineEndpointOut> {
    const body = { properties: { traffic } };
    return this.http.json('PATCH', this.path(rg, ws, name), { apiVersion: ML, body });
  }
  /** Stops and deletes its deployments too. */
  delete(rg: string, ws: string, name: string): Promise<boolean> {
    return this.http.delete(this.path(rg, ws, name), ML);
  }
  listKeys(rg: string, ws: string, name: string): Promise<{ primaryKey: string; secondaryKey: string }> {
    return this.http.json('POST', `${this.path(rg, ws, name)}/listKeys`, { apiVersion: ML });
  }
  /**
   * POSTs `payload` as JSON to the endpoint's scoring URI with an endpoint key (Key endpoints) or the client's key
   * (token endpoints); `deployment` bypasses the traffic split. A non-2xx answer throws ApiError.
   */
  async score(
    scoringUri: string,
    payload: unknown,
    opts: { key?: string; deployment?: string } = {},
  ): Promise<ScoreResult> {
    const headers: Record<string, string> = {};
    if (opts.key !== undefined) headers.authorization = `Bearer ${opts.key}`;
    if (opts.deployment !== undefined) headers['azureml-model-deployment'] = opts.deployment;
    const res = await this.http.send('POST', scoringUri, {
      headers,
      bearer: opts.key === undefined,
      body: payload,
    });
    return {
      status: res.status,
      deployment: res.headers.get('azureml-model-deployment'),
      contentType: res.headers.get('content-type'),
      body: await res.text(),
    };
  }
}

export class OnlineDeployments {
  constructor(
    private readonly http: Transport,
    private readonly ids: WorkspaceIds,
  ) {}
  private path(rg: string, ws: string, endpoint: string, name?: string): string {
    const p = `${this.ids.workspaceId(rg, ws)}/onlineEndpoints/${seg(endpoint)}/deployments`;
    return name === undefined ? p : `${p}/${seg(name)}`;
  }
  /** Answers at once (Creating/Updating); `waitFor` polls until the scoring process is up or failed. */
  createOrUpdate(
    rg: string,
    ws: string,
    endpoint: string,
    name: string,
    body: OnlineDeploymentIn,
  ): Promise<OnlineDeploymentOut> {
    return this.http.json('PUT', this.path(rg, ws, endpoint, name), { apiVersion: ML, body });
  }
  get(rg: string, ws: string, endpoint: string, name: string): Promise<OnlineDeploymentOut> {
    return this.http.json('GET', this.path(rg, ws, endpoint, name), { apiVersion: ML });
  }
  async list(rg: string, ws: string, endpoint: string): Promise<OnlineDeploymentOut[]> {
    const path = this.path(rg, ws, endpoint);
    return (await this.http.json<List<OnlineDeploymentOut>>('GET', path, { apiVersion: ML })).value;
  }
  /** Refused (409) while the endpoint sends it traffic. */
  delete(rg: string, ws: string, endpoint: string, name: string): Promise<boolean> {
    return this.http.delete(this.path(rg, ws, endpoint, name), ML);
  }
  async logs(rg: string, ws: string, endpoint: string, name: string, tail = 100): Promise<string> {
    const path = `${this.path(rg, ws, endpoint, name)}/getLogs`;
    return (await this.http.json<{ content: string }>('POST', path, { apiVersion: ML, body: { tail } }))
      .content;
  }
  /** Polls until Succeeded or Failed; throws after `timeoutMs` (default 5 min). */
  async waitFor(
    rg: string,
    ws: string,
    endpoint: string,
    name: string,
    opts: { intervalMs?: number; timeoutMs?: number } = {},
  ): Promise<OnlineDeploymentOut> {
    const end = Date.now() + (opts.timeoutMs ?? 300_000);
    for (;;) {
      const d = await this.get(rg, ws, endpoint, name);
      const state = d.properties.provisioningState;
      if (state === 'Succeeded' || state === 'Failed') return d;
      if (Date.now() >= end) throw new Error(`Deployment ${name} is still ${state}.`);
      await new Promise((r) => setTimeout(r, opts.intervalMs ?? 500));
    }
  }
}
