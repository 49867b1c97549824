/**
 * The ML workspace as an event source: workspaces, model containers and versions (Azure ML ARM shapes,
 * api-version 2022-10-01). Registering a model version raises ModelRegistered in the same transaction.
 */
import { createHash, randomUUID } from 'node:crypto';
import { notFound } from '../core/errors.js';
import {
  bodyJobName,
  bodyNamesLineage,
  checkLineage,
  inheritInto,
  lineageOf,
  type Lineage,
} from '../core/lineage.js';
import { modelRegistered } from '../core/ml-events.js';
import {
  parseModelContainerPut,
  parseModelVersionPut,
  renderModelContainer,
  renderModelVersion,
  type ModelContainerSpec,
  type ModelVersionSpec,
} from '../core/model.js';
import { systemEvent } from '../core/publish.js';
import {
  applyWorkspacePatch,
  parseWorkspacePut,
  renderWorkspace,
  type WorkspaceSpec,
} from '../core/workspace.js';
import type { Publisher } from '../engine/publisher.js';
import { workspaceId, type WorkspaceRef } from '../core/ml-events.js';
import type { ModelContainerRecord, ModelVersionRecord, Store, WorkspaceRecord } from '../store/types.js';
import type { LineageService } from './lineage.js';
import { requireWorkspace } from './require-workspace.js';

export class WorkspaceService {
  constructor(
    private readonly store: Store,
    private readonly publisher: Publisher,
    private readonly now: () => Date = () => new Date(),
    private readonly lineage?: LineageService,
  ) {}

  async putWorkspace(ref: WorkspaceRef, body: unknown) {
    const id = workspaceId(ref);
    const existing = await this.store.getWorkspace(id.toLowerCase());
    const spec = parseWorkspacePut(body, {
      name: ref.workspace,
      current: existing?.spec as WorkspaceSpec | undefined,
    });
    const at = this.now().toISOString();
    const rec: WorkspaceRecord = existing
      ? { ...existing, spec, updatedAt: at }
      : {
          key: id.toLowerCase(),
          id,
          subscriptionId: ref.subscriptionId,
          resourceGroup: ref.resourceGroup,
          name: ref.workspace,
          workspaceGuid: randomUUID(),
          spec,
          createdAt: at,
          updatedAt: at,
        };
    const { created } = await this.store.putWorkspace(rec);
    return { created, out: renderWs(rec) };
  }

  async getWorkspace(ref: WorkspaceRef) {
    return renderWs(await requireWorkspace(this.store, ref));
  }

  async patchWorkspace(ref: WorkspaceRef, body: unknown) {
    const rec = await requireWorkspace(this.store, ref);
    const next = {
      ...rec,
      spec: applyWorkspacePatch(rec.spec as WorkspaceSpec, body),
      updatedAt: this.now().toISOString(),
    };
    await this.store.putWorkspace(next);
    return renderWs(next);
  }

  async deleteWorkspace(ref: WorkspaceRef): Promise<boolean> {
    return this.store.deleteWorkspace(workspaceId(ref).toLowerCase());
  }

  async listWorkspaces(f: { subscriptionId: string; resourceGroup?: string }) {
    return (await this.store.listWorkspaces(f)).map(renderWs);
  }

  async putModelContainer(ref: WorkspaceRef, name: string, body: unknown) {
    const ws = await requireWorkspace(this.store, ref);
    const spec = parseModelContainerPut(body, { name });
    const key = containerKey(ws, name);
    const existing = await this.store.getModelContainer(key);
    const at = this.now().toISOString();
    const rec: ModelContainerRecord = existing
      ? { ...existing, spec, updatedAt: at }
      : { key, workspaceKey: ws.key, name, spec, createdAt: at, updatedAt: at };
    const { created } = await this.store.putModelContainer(rec);
    return { created, out: await this.renderContainer(ws, rec) };
  }

  async getModelContainer(ref: WorkspaceRef, name: string) {
    const ws = await requireWorkspace(this.store, ref);
    return this.renderContainer(ws, await this.requireContainer(ws, name));
  }

  async listModelContainers(ref: WorkspaceRef) {
    const ws = await requireWorkspace(this.store, ref);
    const list = await this.store.listModelContainers(ws.key);
    return Promise.all(list.map((c) => this.renderContainer(ws, c)));
  }

  async deleteModelContainer(ref: WorkspaceRef, name: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    return this.store.deleteModelContainer(containerKey(ws, name));
  }

  /**
   * Registers a version (creating the container if needed, as Azure does) and raises ModelRegistered. `callerJob`:
   * the job whose own token authenticated the request; its lineage is inherited (docs/lineage.md).
   */
  async putModelVersion(ref: WorkspaceRef, name: string, version: string, body: unknown, callerJob?: string) {
    const ws = await requireWorkspace(this.store, ref);
    const cKey = containerKey(ws, name);
    const vKey = `${cKey}/versions/${version.toLowerCase()}`;
    const current = await this.store.getModelVersion(vKey);
    const inherited = await this.inheritedLineage(ws, body, current, callerJob);
    const spec = parseModelVersionPut(inherited ? inheritInto(body, inherited) : body, {
      name,
      version,
      current: current?.spec as ModelVersionSpec | undefined,
    });
    checkLineage(spec.properties, 'properties.properties');
    const lineage = lineageOf(spec.properties);
    const now = this.now();
    const at = now.toISOString();
    let container = await this.store.getModelContainer(cKey);
    if (!container) {
      const empty: ModelContainerSpec = { tags: {}, properties: {}, isArchived: false };
      container = { key: cKey, workspaceKey: ws.key, name, spec: empty, createdAt: at, updatedAt: at };
      await this.store.putModelContainer(container);
    }
    if (lineage && !current) {
      const id = `${ws.id}/models/${container.name}/versions/${version}`;
      await this.lineage?.joined(ws, { kind: 'modelVersion', id, lineage });
    }
    let rows: ReturnType<Publisher['route']> = [];
    const { created } = await this.store.putModelVersion(
      { key: vKey, containerKey: cKey, version, spec, createdAt: current?.createdAt ?? at, updatedAt: at },
      (sequencer) => {
        const event = modelRegistered({
          workspaceId: ws.id,
          id: randomUUID(),
          now,
          modelName: container!.name,
          modelVersion: version,
          modelTags: spec.tags,
          modelProperties: spec.properties,
          sequencer,
          etag: etagOf(spec),
          lineage,
        });
        rows = this.publisher.route(ws.key, [systemEvent(event)]);
        return rows;
      },
      now.getTime(),
    );
    this.publisher.committed(ws.key, rows);
    return {
      created,
      out: renderModelVersion(spec, {
        workspaceId: ws.id,
        name: container.name,
        version,
        createdAt: current?.createdAt ?? at,
        updatedAt: at,
      }),
    };
  }

  async getModelVersion(ref: WorkspaceRef, name: string, version: string) {
    const ws = await requireWorkspace(this.store, ref);
    const c = await this.requireContainer(ws, name);
    const v = await this.store.getModelVersion(`${c.key}/versions/${version.toLowerCase()}`);
    if (!v) throw notFound('model version', `${ws.id}/models/${name}/versions/${version}`);
    return renderModelVersion(v.spec as ModelVersionSpec, {
      workspaceId: ws.id,
      name: c.name,
      version: v.version,
      createdAt: v.createdAt,
      updatedAt: v.updatedAt,
    });
  }

  async listModelVersions(ref: WorkspaceRef, name: string) {
    const ws = await requireWorkspace(this.store, ref);
    const c = await this.requireContainer(ws, name);
    return (await this.store.listModelVersions(c.key)).map((v) =>
      renderModelVersion(v.spec as ModelVersionSpec, {
        workspaceId: ws.id,
        name: c.name,
        version: v.version,
        createdAt: v.createdAt,
        updatedAt: v.updatedAt,
      }),
    );
  }

  async deleteModelVersion(ref: WorkspaceRef, name: string, version: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    return this.store.deleteModelVersion(`${containerKey(ws, name)}/versions/${version.toLowerCase()}`);
  }

  /** For event subscriptions whose scope is a workspace: it must exist. */
  async exists(id: string): Promise<boolean> {
    return (await this.store.getWorkspace(id.toLowerCase())) !== undefined;
  }

  /**
   * What a version inherits when its body names no lineage: the lineage it already has (kept across re-PUTs), else
   * that of the job registering it (by its token, or named in `properties.jobName`), caused by that job.
   */
  private async inheritedLineage(
    ws: WorkspaceRecord,
    body: unknown,
    current: ModelVersionRecord | undefined,
    callerJob: string | undefined,
  ): Promise<Lineage | undefined> {
    if (bodyNamesLineage(body)) return undefined;
    if (current) return lineageOf((current.spec as ModelVersionSpec).properties);
    const jobName = callerJob ?? bodyJobName(body);
    if (jobName === undefined) return undefined;
    const job = await this.store.getJob(`${ws.key}/jobs/${jobName.toLowerCase()}`);
    const of = job && lineageOf((job.spec as { properties: Record<string, string> }).properties);
    return of && { correlationId: of.correlationId, causationId: `${ws.id}/jobs/${job.name}` };
  }

  private async requireContainer(ws: WorkspaceRecord, name: string): Promise<ModelContainerRecord> {
    const c = await this.store.getModelContainer(containerKey(ws, name));
    if (!c) throw notFound('model', `${ws.id}/models/${name}`);
    return c;
  }

  private async renderContainer(ws: WorkspaceRecord, c: ModelContainerRecord) {
    const versions = (await this.store.listModelVersions(c.key)).map((v) => v.version);
    return renderModelContainer(c.spec as ModelContainerSpec, {
      workspaceId: ws.id,
      name: c.name,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      versions,
    });
  }
}

function containerKey(ws: WorkspaceRecord, name: string): string {
  return `${ws.key}/models/${name.toLowerCase()}`;
}

function renderWs(r: WorkspaceRecord) {
  return renderWorkspace(r.spec as WorkspaceSpec, {
    id: r.id,
    name: r.name,
    workspaceId: r.workspaceGuid,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  });
}

/** A version tag of the registered content: changes exactly when the stored spec does. */
function etagOf(spec: ModelVersionSpec): string {
  return createHash('sha256').update(JSON.stringify(spec)).digest('base64url').slice(0, 22);
}
