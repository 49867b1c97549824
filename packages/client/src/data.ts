/**
 * Data assets: Azure ML's `data` containers and versions (api-version 2022-10-01) over local CSV and Parquet
 * files, with the summary mlgrid records at registration (`properties.mlgridSummary`).
 */
import { API_VERSIONS, seg, type Transport } from './http.js';

const ML = API_VERSIONS.ml;
type List<T> = { value: T[] };

export type DataType = 'uri_file' | 'uri_folder' | 'mltable';
/** Azure's `listViewType`: lists hide archived assets unless asked. */
export type ListViewType = 'ActiveOnly' | 'ArchivedOnly' | 'All';
export type DataColumnType = 'integer' | 'number' | 'boolean' | 'timestamp' | 'string' | 'other';

export interface DataContainerIn {
  properties: {
    dataType: DataType;
    description?: string;
    tags?: Record<string, string>;
    properties?: Record<string, string>;
    isArchived?: boolean;
  };
}

export interface DataContainerOut {
  id: string;
  name: string;
  type: string;
  systemData: { createdAt: string; lastModifiedAt: string };
  properties: Required<
    Pick<DataContainerIn['properties'], 'dataType' | 'tags' | 'properties' | 'isArchived'>
  > & {
    description?: string;
    latestVersion?: string;
    nextVersion: string;
  };
}

export interface DataVersionIn {
  properties: {
    dataType: DataType;
    /** `file:///…` or an absolute path on the mlgrid host; it must exist. */
    dataUri: string;
    description?: string;
    tags?: Record<string, string>;
    properties?: Record<string, string>;
    isAnonymous?: boolean;
    isArchived?: boolean;
    /** mltable: filled in from the MLTable file's paths when omitted. */
    referencedUris?: string[];
  };
}

/** What the version's files held when it was registered (mlgrid, read-only). */
export interface DataSummary {
  fileCount: number;
  rowCount: number;
  sizeBytes: number;
  columns: { name: string; type: DataColumnType }[];
}

export interface DataVersionOut {
  id: string;
  /** The version. */
  name: string;
  type: string;
  systemData: { createdAt: string; lastModifiedAt: string };
  properties: Required<
    Pick<
      DataVersionIn['properties'],
      'dataType' | 'dataUri' | 'tags' | 'properties' | 'isAnonymous' | 'isArchived'
    >
  > & {
    description?: string;
    referencedUris?: string[];
    mlgridSummary: DataSummary;
  };
}

interface Ids {
  workspaceId(rg: string, name: string): string;
}

export class DataAssets {
  constructor(
    private readonly http: Transport,
    private readonly ids: Ids,
  ) {}
  private path(rg: string, ws: string, name?: string, version?: string): string {
    let p = `${this.ids.workspaceId(rg, ws)}/data`;
    if (name !== undefined) p += `/${seg(name)}`;
    if (version !== undefined) p += `/versions/${seg(version)}`;
    return p;
  }
  createContainer(rg: string, ws: string, name: string, body: DataContainerIn): Promise<DataContainerOut> {
    return this.http.json('PUT', this.path(rg, ws, name), { apiVersion: ML, body });
  }
  getContainer(rg: string, ws: string, name: string): Promise<DataContainerOut> {
    return this.http.json('GET', this.path(rg, ws, name), { apiVersion: ML });
  }
  async listContainers(
    rg: string,
    ws: string,
    opts: { listViewType?: ListViewType } = {},
  ): Promise<DataContainerOut[]> {
    const r = await this.http.json<List<DataContainerOut>>('GET', this.path(rg, ws), {
      apiVersion: ML,
      query: opts,
    });
    return r.value;
  }
  /** Deletes the asset and all its versions. */
  deleteContainer(rg: string, ws: string, name: string): Promise<boolean> {
    return this.http.delete(this.path(rg, ws, name), ML);
  }
  /**
   * PUT a version (the container is created when missing). A new version's files must exist on the mlgrid host;
   * a registered one may change only its description, tags and isArchived (400 otherwise).
   */
  register(
    rg: string,
    ws: string,
    name: string,
    version: string,
    body: DataVersionIn,
  ): Promise<DataVersionOut> {
    return this.http.json('PUT', this.path(rg, ws, name, version), { apiVersion: ML, body });
  }
  /** Registers the asset's `nextVersion` (1 for a new asset). Two concurrent calls may race for the same number. */
  async registerNext(rg: string, ws: string, name: string, body: DataVersionIn): Promise<DataVersionOut> {
    let next = '1';
    try {
      next = (await this.getContainer(rg, ws, name)).properties.nextVersion;
    } catch (e) {
      if ((e as { status?: number }).status !== 404) throw e;
    }
    return this.register(rg, ws, name, next, body);
  }
  getVersion(rg: string, ws: string, name: string, version: string): Promise<DataVersionOut> {
    return this.http.json('GET', this.path(rg, ws, name, version), { apiVersion: ML });
  }
  async listVersions(
    rg: string,
    ws: string,
    name: string,
    opts: { listViewType?: ListViewType } = {},
  ): Promise<DataVersionOut[]> {
    const path = `${this.path(rg, ws, name)}/versions`;
    return (await this.http.json<List<DataVersionOut>>('GET', path, { apiVersion: ML, query: opts })).value;
  }
  /** Archives (or restores) a version: it is then hidden from lists unless `listViewType` asks for it. */
  async archiveVersion(rg: string, ws: string, name: string, version: string, archived = true) {
    const cur = await this.getVersion(rg, ws, name, version);
    return this.register(rg, ws, name, version, { properties: { ...cur.properties, isArchived: archived } });
  }
  deleteVersion(rg: string, ws: string, name: string, version: string): Promise<boolean> {
    return this.http.delete(this.path(rg, ws, name, version), ML);
  }
}
