/**
 * Data assets of a workspace (Azure ML `data` containers and versions, api-version 2022-10-01), stored as
 * resource documents: `dataContainer` at `{workspace}/data/{name}`, `dataVersion` at `…/versions/{version}`
 * (lower-cased). Registering a version checks that its files exist and records what they hold
 * (`mlgridSummary`). Azure raises no event for data registration, so neither does mlgrid.
 */
import { MlgridError, invalid, notFound } from '../core/errors.js';
import {
  inView,
  parseDataContainerPut,
  parseDataVersionPut,
  renderDataContainer,
  renderDataVersion,
  type DataContainerSpec,
  type DataVersionDoc,
  type ListViewType,
} from '../core/data-asset.js';
import type { WorkspaceRef } from '../core/ml-events.js';
import { Dataset, DatasetError } from '../data/tabular.js';
import type { ResourceRecord, Store, WorkspaceRecord } from '../store/types.js';
import { requireWorkspace } from './require-workspace.js';

export const DATA_CONTAINER = 'dataContainer';
export const DATA_VERSION = 'dataVersion';

export class DataAssetService {
  constructor(
    private readonly store: Store,
    private readonly now: () => Date = () => new Date(),
  ) {}

  async putContainer(ref: WorkspaceRef, name: string, body: unknown) {
    const ws = await requireWorkspace(this.store, ref);
    const key = containerKey(ws, name);
    const existing = await this.store.getResource(key);
    const versions = existing ? await this.versionsOf(key) : [];
    const spec = parseDataContainerPut(body, {
      name,
      current: existing?.spec as DataContainerSpec | undefined,
      hasVersions: versions.length > 0,
    });
    const at = this.now();
    const rec = {
      key,
      kind: DATA_CONTAINER,
      parentKey: ws.key,
      name: existing?.name ?? name,
      spec,
      createdAt: existing?.createdAt ?? at.toISOString(),
      updatedAt: at.toISOString(),
    };
    const r = await this.store.putResource(rec, at.getTime(), { ifSequencer: existing?.sequencer ?? 0 });
    if (!r.updated) throw conflict(`${ws.id}/data/${name}`);
    return { created: r.created, out: this.renderContainer(ws, r.rec!, versions) };
  }

  async getContainer(ref: WorkspaceRef, name: string) {
    const ws = await requireWorkspace(this.store, ref);
    const c = await this.requireContainer(ws, name);
    return this.renderContainer(ws, c, await this.versionsOf(c.key));
  }

  async listContainers(ref: WorkspaceRef, view: ListViewType = 'ActiveOnly') {
    const ws = await requireWorkspace(this.store, ref);
    const list = await this.store.listResources({ kind: DATA_CONTAINER, parentKey: ws.key });
    const shown = list.filter((c) => inView((c.spec as DataContainerSpec).isArchived, view));
    return Promise.all(shown.map(async (c) => this.renderContainer(ws, c, await this.versionsOf(c.key))));
  }

  /** Deletes the container and its versions. */
  async deleteContainer(ref: WorkspaceRef, name: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    return this.store.deleteResource(containerKey(ws, name), this.now().getTime());
  }

  /**
   * Registers a version (creating its container, of the same dataType, when missing, as Azure does). A new
   * version's files must exist and be readable: they are described into its summary. Restating an existing
   * version may change only its description, tags and archive flag; its summary stays the one taken at creation.
   */
  async putVersion(ref: WorkspaceRef, name: string, version: string, body: unknown) {
    const ws = await requireWorkspace(this.store, ref);
    const cKey = containerKey(ws, name);
    const vKey = `${cKey}/versions/${version.toLowerCase()}`;
    const current = await this.store.getResource(vKey);
    const currentDoc = current?.spec as DataVersionDoc | undefined;
    const spec = parseDataVersionPut(body, { name, version, current: currentDoc });
    let container = await this.store.getResource(cKey);
    const cSpec = container?.spec as DataContainerSpec | undefined;
    if (cSpec && cSpec.dataType !== spec.dataType) {
      throw invalid('properties.dataType', `must be ${cSpec.dataType}, the data container's dataType`);
    }

    let doc: DataVersionDoc;
    if (currentDoc) {
      doc = { ...spec, summary: currentDoc.summary };
    } else {
      const { summary, referencedUris } = await describe(spec.dataType, spec.dataUri);
      doc = { ...spec, summary };
      if (spec.dataType === 'mltable' && spec.referencedUris === undefined && referencedUris) {
        doc.referencedUris = referencedUris;
      }
    }

    const at = this.now();
    const iso = at.toISOString();
    if (!container) {
      const empty: DataContainerSpec = {
        dataType: spec.dataType,
        tags: {},
        properties: {},
        isArchived: false,
      };
      const r = await this.store.putResource(
        {
          key: cKey,
          kind: DATA_CONTAINER,
          parentKey: ws.key,
          name,
          spec: empty,
          createdAt: iso,
          updatedAt: iso,
        },
        at.getTime(),
        { ifSequencer: 0 },
      );
      container = r.rec ?? (await this.store.getResource(cKey));
      // Another request created it first, with another dataType: refuse as if it had been there.
      const raced = container?.spec as DataContainerSpec | undefined;
      if (raced && raced.dataType !== spec.dataType) {
        throw invalid('properties.dataType', `must be ${raced.dataType}, the data container's dataType`);
      }
    }
    const r = await this.store.putResource(
      {
        key: vKey,
        kind: DATA_VERSION,
        parentKey: cKey,
        name: current?.name ?? version,
        spec: doc,
        createdAt: current?.createdAt ?? iso,
        updatedAt: iso,
      },
      at.getTime(),
      { ifSequencer: current?.sequencer ?? 0 },
    );
    if (!r.updated) throw conflict(`${ws.id}/data/${name}/versions/${version}`);
    return { created: r.created, out: this.renderVersion(ws, container!, r.rec!) };
  }

  async getVersion(ref: WorkspaceRef, name: string, version: string) {
    const { ws, c, v } = await this.requireVersion(ref, name, version);
    return this.renderVersion(ws, c, v);
  }

  async listVersions(ref: WorkspaceRef, name: string, view: ListViewType = 'ActiveOnly') {
    const ws = await requireWorkspace(this.store, ref);
    const c = await this.requireContainer(ws, name);
    return (await this.versionsOf(c.key))
      .filter((v) => inView((v.spec as DataVersionDoc).isArchived, view))
      .map((v) => this.renderVersion(ws, c, v));
  }

  async deleteVersion(ref: WorkspaceRef, name: string, version: string): Promise<boolean> {
    const ws = await requireWorkspace(this.store, ref);
    const key = `${containerKey(ws, name)}/versions/${version.toLowerCase()}`;
    return this.store.deleteResource(key, this.now().getTime());
  }

  /**
   * A registered version opened for reading (drift monitors): its files as they are now, with the schema taken
   * at registration, so no CSV needs a typing pass. Missing files now fail with DatasetError.
   */
  async openVersion(ref: WorkspaceRef, name: string, version: string): Promise<Dataset> {
    const { v } = await this.requireVersion(ref, name, version);
    const doc = v.spec as DataVersionDoc;
    return Dataset.open({ type: doc.dataType, uri: doc.dataUri }, { columns: doc.summary.columns });
  }

  private async requireVersion(ref: WorkspaceRef, name: string, version: string) {
    const ws = await requireWorkspace(this.store, ref);
    const c = await this.requireContainer(ws, name);
    const v = await this.store.getResource(`${c.key}/versions/${version.toLowerCase()}`);
    if (!v) throw notFound('data version', `${ws.id}/data/${name}/versions/${version}`);
    return { ws, c, v };
  }

  private async requireContainer(ws: WorkspaceRecord, name: string): Promise<ResourceRecord> {
    const c = await this.store.getResource(containerKey(ws, name));
    if (!c) throw notFound('data asset', `${ws.id}/data/${name}`);
    return c;
  }

  private versionsOf(cKey: string): Promise<ResourceRecord[]> {
    return this.store.listResources({ kind: DATA_VERSION, parentKey: cKey });
  }

  private renderContainer(ws: WorkspaceRecord, c: ResourceRecord, versions: ResourceRecord[]) {
    return renderDataContainer(c.spec as DataContainerSpec, {
      workspaceId: ws.id,
      name: c.name,
      createdAt: c.createdAt,
      updatedAt: c.updatedAt,
      versions: versions.map((v) => v.name),
    });
  }

  private renderVersion(ws: WorkspaceRecord, c: ResourceRecord, v: ResourceRecord) {
    return renderDataVersion(v.spec as DataVersionDoc, {
      workspaceId: ws.id,
      name: c.name,
      version: v.name,
      createdAt: v.createdAt,
      updatedAt: v.updatedAt,
    });
  }
}

/** Lists and describes the data; anything wrong with it is a 400 on `properties.dataUri`. */
async function describe(type: DataVersionDoc['dataType'], uri: string) {
  try {
    const ds = await Dataset.open({ type, uri });
    return { summary: await ds.describe(), referencedUris: ds.referencedUris };
  } catch (e) {
    if (e instanceof DatasetError) throw invalid('properties.dataUri', e.message);
    throw e;
  }
}

function containerKey(ws: WorkspaceRecord, name: string): string {
  return `${ws.key}/data/${name.toLowerCase()}`;
}

function conflict(id: string): MlgridError {
  return new MlgridError('Conflict', `${id} was changed by another request at the same time; retry.`);
}
