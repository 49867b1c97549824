/**
 * Local functions (docs/functions.md) at Azure's id shape
 * `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Web/sites/{app}/functions/{fn}`: what an
 * `AzureFunction` event subscription names by `resourceId`, run by mlgrid as a local process per delivery.
 * There is no site to create first: an app exists while it has functions.
 */
import { seg, type Transport } from './http.js';

/** Any api-version is accepted; this is what `@azure/arm-appservice` sends. */
const WEB = '2022-03-01';
type List<T> = { value: T[] };

/** `properties.config.mlgrid`: exactly one of `command` and `module`. */
export type FunctionHandlerConfig = (
  | {
      /** `["program", "arg", …]`, run without a shell; `program` is looked up on PATH unless it has a `/`. */
      command: string[];
      module?: never;
    }
  | {
      /** A .js, .mjs, .cjs, .ts, .mts or .cts file relative to `cwd`, exporting `handler(events, context)`. */
      module: string;
      command?: never;
    }
) & {
  /** Inside the server's functions directory (relative to it, or absolute); default `<functions dir>/<app>`. */
  cwd?: string;
  /** Extra variables (≤ 100); `MLGRID_*` and `AEG_*` are reserved. Readable by Readers: no secrets here. */
  env?: Record<string, string>;
  /** 1-600, default 30. */
  timeoutSeconds?: number;
  /** 1-64, default 4: processes of this function at once on one node. */
  maxConcurrency?: number;
};

export interface FunctionIn {
  properties: {
    /** Azure's free-form function.json: mlgrid reads `mlgrid` and keeps the rest (e.g. `bindings`) as given. */
    config: { mlgrid: FunctionHandlerConfig } & Record<string, unknown>;
    /** A disabled function is not run: its deliveries fail as retryable. */
    isDisabled?: boolean;
  };
}

export interface FunctionOut {
  id: string;
  /** `{app}/{fn}`, as Azure names it. */
  name: string;
  type: 'Microsoft.Web/sites/functions';
  properties: {
    function_app_id: string;
    config: {
      mlgrid: FunctionHandlerConfig & {
        env: Record<string, string>;
        timeoutSeconds: number;
        maxConcurrency: number;
      };
    } & Record<string, unknown>;
    /** `node` for modules, `python` for a `python…` command, else `custom`. */
    language: string;
    isDisabled: boolean;
  };
}

interface Ids {
  resourceGroupId(rg: string): string;
}

export class Functions {
  constructor(
    private readonly http: Transport,
    private readonly ids: Ids,
  ) {}
  private path(rg: string, app: string, name?: string): string {
    const p = `${this.ids.resourceGroupId(rg)}/providers/Microsoft.Web/sites/${seg(app)}/functions`;
    return name === undefined ? p : `${p}/${seg(name)}`;
  }
  /** The function's resource id, for an `AzureFunction` destination's `resourceId`. */
  id(rg: string, app: string, name: string): string {
    return this.path(rg, app, name);
  }
  /** PUT: creates or replaces the whole function; a bad body is a 400 ApiError naming the field. */
  createOrUpdate(rg: string, app: string, name: string, body: FunctionIn): Promise<FunctionOut> {
    return this.http.json('PUT', this.path(rg, app, name), { apiVersion: WEB, body });
  }
  get(rg: string, app: string, name: string): Promise<FunctionOut> {
    return this.http.json('GET', this.path(rg, app, name), { apiVersion: WEB });
  }
  /** The app's functions. */
  async list(rg: string, app: string): Promise<FunctionOut[]> {
    return (await this.http.json<List<FunctionOut>>('GET', this.path(rg, app), { apiVersion: WEB })).value;
  }
  /** Deliveries to a deleted function fail and are retried (it may come back). */
  delete(rg: string, app: string, name: string): Promise<boolean> {
    return this.http.delete(this.path(rg, app, name), WEB);
  }
}
