/**
 * Online deployments: a PUT stores the deployment as Creating (or Updating) and answers at once; provisioning
 * then starts the scoring process and, once it is healthy, commits Succeeded together with ModelDeployed
 * (outbox, guarded by the document's sequencer so a newer PUT or a delete wins). A failure commits Failed with
 * its cause, raises no ModelDeployed (as in Azure), and raises ModelDeploymentFailed where the workspace opted in.
 */
import { createHash, randomUUID } from 'node:crypto';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';
import { invalid, MlgridError, notFound } from '../core/errors.js';
import { checkLineage, lineageOf } from '../core/lineage.js';
import { modelDeployed, modelDeploymentFailed, type WorkspaceRef } from '../core/ml-events.js';
import type { ModelVersionSpec } from '../core/model.js';
import {
  applyDeploymentPatch,
  parseDeploymentPut,
  parseModelRef,
  renderDeployment,
  scriptKind,
  validateEndpointName,
  type DeploymentRuntime,
  type DeploymentSpec,
} from '../core/online-endpoint.js';
import { systemEvent } from '../core/publish.js';
import { optInteger, optObject } from '../core/validate.js';
import type { WorkspaceSpec } from '../core/workspace.js';
import { DeployError, tailOf, type Deployer, type LaunchSpec } from '../engine/deployer.js';
import { isDirectory } from '../engine/job-process.js';
import type { Publisher } from '../engine/publisher.js';
import type { EventToStore, ResourceRecord, Store, WorkspaceRecord } from '../store/types.js';
import type { LineageService } from './lineage.js';
import { requireWorkspace } from './require-workspace.js';

export const DEPLOYMENT_KIND = 'onlineDeployment';

interface DeploymentDoc {
  spec: DeploymentSpec;
  runtime: DeploymentRuntime;
}

/** Where a model version's files are on this machine: `file://` URIs, and artifacts through `artifact`. */
export type ModelPathResolver = (modelUri: string, ws: WorkspaceRecord) => Promise<string | undefined>;

export function modelPaths(
  artifact: (ws: WorkspaceRecord, sha256: string) => Promise<string | undefined>,
): ModelPathResolver {
  return async (uri, ws) => {
    if (/^file:/i.test(uri)) return fileURLToPath(uri);
    const sha = /^mlgrid:\/\/artifacts\/([0-9a-f]{64})$/i.exec(uri)?.[1];
    return sha === undefined ? undefined : artifact(ws, sha);
  };
}

export class DeploymentService {
  /** Provisionings in flight, so `close()` can wait for them. */
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: Store,
    private readonly publisher: Publisher,
    private readonly deployer: Deployer,
    private readonly log: Logger,
    private readonly modelPath: ModelPathResolver,
    private readonly now: () => Date = () => new Date(),
    private readonly lineage?: LineageService,
  ) {}

  /** Brings this node's processes in line with the store: Succeeded ones run, unfinished ones are provisioned. */
  async start(): Promise<void> {
    for (const rec of await this.store.listResources({ kind: DEPLOYMENT_KIND })) {
      const state = (rec.spec as DeploymentDoc).runtime.state;
      if (state === 'Creating' || state === 'Updating') this.provisionLater(rec);
      else if (state === 'Succeeded') {
        this.deployer
          .ensure(rec.key, () => this.launchSpec(rec))
          .catch((err: Error) => {
            this.log.warn({ deployment: rec.key, err: err.message }, 'scoring process did not restart');
          });
      }
    }
  }

  async close(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
    this.deployer.stopAll();
  }

  async put(ref: WorkspaceRef, endpoint: string, name: string, body: unknown) {
    const { ws, ep } = await this.endpoint(ref, endpoint);
    validateEndpointName(name, 'deployment');
    const spec = parseDeploymentPut(body);
    checkLineage(spec.properties, 'properties.properties');
    await this.modelOf(ws, spec); // refuse an unknown model now, not after the 201
    if (!isDirectory(spec.codePath)) {
      throw invalid('properties.codeConfiguration.codeId', `folder ${spec.codePath} does not exist`);
    }
    const key = `${ep.key}/deployments/${name.toLowerCase()}`;
    const current = await this.store.getResource(key);
    const at = this.now().toISOString();
    const doc: DeploymentDoc = { spec, runtime: { state: current ? 'Updating' : 'Creating' } };
    const lineage = lineageOf(spec.properties); // a deployment an automation makes (docs/lineage.md)
    if (lineage) {
      const id = `${ws.id}/onlineEndpoints/${ep.name}/deployments/${name}`;
      await this.lineage?.joined(ws, { kind: 'deployment', id, lineage });
    }
    const { created, rec } = await this.store.putResource(
      { key, kind: DEPLOYMENT_KIND, parentKey: ep.key, name, spec: doc, createdAt: at, updatedAt: at },
      this.now().getTime(),
    );
    this.provisionLater(rec!);
    return { created, out: this.render(ws, ep, rec!) };
  }

  async get(ref: WorkspaceRef, endpoint: string, name: string) {
    const { ws, ep } = await this.endpoint(ref, endpoint);
    return this.render(ws, ep, await this.require(ep, name));
  }

  async list(ref: WorkspaceRef, endpoint: string) {
    const { ws, ep } = await this.endpoint(ref, endpoint);
    const recs = await this.store.listResources({ kind: DEPLOYMENT_KIND, parentKey: ep.key });
    return recs.map((r) => this.render(ws, ep, r));
  }

  async namesOf(endpointKey: string): Promise<string[]> {
    return (await this.store.listResources({ kind: DEPLOYMENT_KIND, parentKey: endpointKey })).map(
      (r) => r.name,
    );
  }

  /** Azure's PATCH (tags, sku) changes no code or model: no new process, no event. */
  async patch(ref: WorkspaceRef, endpoint: string, name: string, body: unknown) {
    const { ws, ep } = await this.endpoint(ref, endpoint);
    const rec = await this.require(ep, name);
    const doc = rec.spec as DeploymentDoc;
    const next = { ...doc, spec: applyDeploymentPatch(doc.spec, body) };
    const { rec: stored } = await this.store.putResource(
      { ...rec, spec: next, updatedAt: this.now().toISOString() },
      this.now().getTime(),
    );
    return this.render(ws, ep, stored!);
  }

  /** Refused while the endpoint sends it traffic (as Azure does); stops its process here. */
  async delete(ref: WorkspaceRef, endpoint: string, name: string): Promise<boolean> {
    const { ep } = await this.endpoint(ref, endpoint);
    const share = (ep.spec as { spec: { traffic: Record<string, number> } }).spec.traffic[name.toLowerCase()];
    if (share) {
      throw new MlgridError(
        'Conflict',
        `Deployment '${name}' receives ${share}% of the endpoint's traffic; set it to 0 first.`,
      );
    }
    const key = `${ep.key}/deployments/${name.toLowerCase()}`;
    this.deployer.stop(key);
    return this.store.deleteResource(key, this.now().getTime());
  }

  async stopEndpoint(endpointKey: string): Promise<void> {
    for (const r of await this.store.listResources({ kind: DEPLOYMENT_KIND, parentKey: endpointKey })) {
      this.deployer.stop(r.key);
    }
  }

  /** Azure's `getLogs`: `{containerType?, tail?}` → `{content}`; mlgrid has one log (the scoring process). */
  async logs(ref: WorkspaceRef, endpoint: string, name: string, body: unknown) {
    const { ws, ep } = await this.endpoint(ref, endpoint);
    const rec = await this.require(ep, name);
    const tail = optInteger(optObject(body, '(body)')?.tail, 'tail', 0, 10_000) ?? 100;
    return { content: tailOf(this.deployer.logFile(ws.workspaceGuid, ep.name, rec.name), tail) };
  }

  async score(endpointKey: string, deployment: string, body: Buffer, contentType?: string) {
    const rec = await this.store.getResource(`${endpointKey}/deployments/${deployment}`);
    const doc = rec?.spec as DeploymentDoc | undefined;
    if (!rec || !doc) throw notFound('deployment', deployment);
    if (doc.runtime.state !== 'Succeeded' && !this.deployer.isRunning(rec.key)) {
      throw new MlgridError('ServiceUnavailable', `Deployment '${rec.name}' is ${doc.runtime.state}.`);
    }
    const port = await this.deployer.ensure(rec.key, () => this.launchSpec(rec));
    return this.deployer.score(port, body, contentType, doc.spec.requestTimeoutMs);
  }

  private provisionLater(rec: ResourceRecord): void {
    const p = this.provision(rec)
      .catch((err: Error) => this.log.error({ deployment: rec.key, err: err.message }, 'provisioning failed'))
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  private async provision(rec: ResourceRecord): Promise<void> {
    const doc = rec.spec as DeploymentDoc;
    const ws = await this.store.getWorkspace(workspaceKeyOf(rec.key));
    if (!ws) return;
    let outcome: DeploymentRuntime;
    try {
      const model = await this.modelOf(ws, doc.spec);
      await this.deployer.start(rec.key, await this.launchSpec(rec));
      outcome = { state: 'Succeeded', modelId: `${model.name}:${model.version}` };
    } catch (err) {
      const e =
        err instanceof DeployError || err instanceof MlgridError
          ? err
          : new DeployError('DeploymentFailed', (err as Error).message);
      outcome = { state: 'Failed', error: { code: e.code, message: e.message } };
    }
    let rows: EventToStore[] = [];
    const { updated } = await this.store.putResource(
      { ...rec, spec: { ...doc, runtime: outcome }, updatedAt: this.now().toISOString() },
      this.now().getTime(),
      {
        ifSequencer: rec.sequencer, // a newer PUT or a delete since: its own provisioning decides
        events: (stored) => (rows = this.events(ws, stored, outcome)),
      },
    );
    if (!updated) {
      if (outcome.state === 'Succeeded' && !(await this.store.getResource(rec.key)))
        this.deployer.stop(rec.key);
      return;
    }
    this.publisher.committed(ws.key, rows);
  }

  private events(ws: WorkspaceRecord, rec: ResourceRecord, rt: DeploymentRuntime): EventToStore[] {
    const spec = (rec.spec as DeploymentDoc).spec;
    const base = {
      workspaceId: ws.id,
      id: randomUUID(),
      now: this.now(),
      serviceName: rec.key.split('/onlineendpoints/')[1]!.split('/')[0]!,
      serviceComputeType: 'Managed',
      modelIds: rt.modelId ?? modelIdOf(spec.model),
      serviceTags: spec.tags,
      serviceProperties: spec.properties,
      deploymentName: rec.name,
      lineage: lineageOf(spec.properties),
      sequencer: rec.sequencer,
      etag: createHash('sha256').update(JSON.stringify(spec)).digest('base64url').slice(0, 22),
    };
    if (rt.state === 'Succeeded') return this.publisher.route(ws.key, [systemEvent(modelDeployed(base))]);
    if (!(ws.spec as WorkspaceSpec).failureEvents || !rt.error) return [];
    const failed = modelDeploymentFailed({
      ...base,
      errorCode: rt.error.code,
      errorMessage: rt.error.message,
    });
    return this.publisher.route(ws.key, [systemEvent(failed)]);
  }

  private async launchSpec(rec: ResourceRecord): Promise<LaunchSpec> {
    const spec = (rec.spec as DeploymentDoc).spec;
    const ws = await this.store.getWorkspace(workspaceKeyOf(rec.key));
    if (!ws) throw new DeployError('WorkspaceNotFound', 'The deployment’s workspace no longer exists.');
    const model = await this.modelOf(ws, spec);
    const path = await this.modelPath(model.spec.modelUri, ws);
    if (path === undefined) {
      throw new DeployError(
        'ModelNotLocal',
        `Model URI ${model.spec.modelUri} has no local copy mlgrid can serve.`,
      );
    }
    const endpoint = rec.parentKey.split('/').pop()!;
    return {
      kind: scriptKind(spec.scoringScript, 'properties.codeConfiguration.scoringScript'),
      codePath: spec.codePath,
      scoringScript: spec.scoringScript,
      modelDir: isDirectory(path) ? path : dirname(path),
      env: spec.environmentVariables,
      logFile: this.deployer.logFile(ws.workspaceGuid, endpoint, rec.name),
    };
  }

  /** The model version a deployment names (in its own workspace when given as `azureml:name:version`). */
  private async modelOf(ws: WorkspaceRecord, spec: DeploymentSpec) {
    const ref = parseModelRef(spec.model, 'properties.model', {
      subscriptionId: ws.subscriptionId,
      resourceGroup: ws.resourceGroup,
      workspace: ws.name,
    });
    const id = `/subscriptions/${ref.subscriptionId}/resourceGroups/${ref.resourceGroup}/providers/Microsoft.MachineLearningServices/workspaces/${ref.workspace}/models/${ref.name}/versions/${ref.version}`;
    const v = await this.store.getModelVersion(id.toLowerCase());
    if (!v) throw invalid('properties.model', `model version ${ref.name}:${ref.version} does not exist`);
    return { name: ref.name, version: ref.version, spec: v.spec as ModelVersionSpec };
  }

  private render(ws: WorkspaceRecord, ep: ResourceRecord, rec: ResourceRecord) {
    const doc = rec.spec as DeploymentDoc;
    return renderDeployment(doc.spec, doc.runtime, {
      id: `${ws.id}/onlineEndpoints/${ep.name}/deployments/${rec.name}`,
      name: rec.name,
      createdAt: rec.createdAt,
      updatedAt: rec.updatedAt,
    });
  }

  private async endpoint(ref: WorkspaceRef, endpoint: string) {
    const ws = await requireWorkspace(this.store, ref);
    const ep = await this.store.getResource(`${ws.key}/onlineendpoints/${endpoint.toLowerCase()}`);
    if (!ep) throw notFound('online endpoint', `${ws.id}/onlineEndpoints/${endpoint}`);
    return { ws, ep };
  }

  private async require(ep: ResourceRecord, name: string): Promise<ResourceRecord> {
    const rec = await this.store.getResource(`${ep.key}/deployments/${name.toLowerCase()}`);
    if (!rec) throw notFound('deployment', `${ep.key}/deployments/${name}`);
    return rec;
  }
}

/** `…/workspaces/{ws}/onlineendpoints/…` → the workspace's key. */
function workspaceKeyOf(key: string): string {
  return key.slice(0, key.indexOf('/onlineendpoints/'));
}

function modelIdOf(model: string): string {
  const ref = parseModelRef(model, 'properties.model');
  return `${ref.name}:${ref.version}`;
}
