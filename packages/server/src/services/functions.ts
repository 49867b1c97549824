/**
 * Local function resources (docs/functions.md): documents of kind `webFunction` at
 * `…/providers/Microsoft.Web/sites/{app}/functions/{fn}`, listed per app. There is no site resource to create
 * first: an app exists while it has functions. The destination handler finds a function by its id (`find`).
 */
import { notFound } from '../core/errors.js';
import {
  functionId,
  functionPaths,
  parseFunctionPut,
  renderFunction,
  resourceKey,
  siteId,
  validateFunctionNames,
  type FunctionDoc,
  type FunctionRef,
  type SiteRef,
} from '../core/function-app.js';
import type { ResourceRecord, Store } from '../store/types.js';

export const FUNCTION_KIND = 'webFunction';

export class FunctionService {
  constructor(
    private readonly store: Store,
    /** The functions directory: every function's working directory and module lie inside it. */
    private readonly dir: string,
    /** Told of every change made through this node (the handler's lookup cache). */
    private readonly changed: (id: string) => void = () => {},
    private readonly now: () => Date = () => new Date(),
  ) {}

  async put(ref: FunctionRef, body: unknown): Promise<{ created: boolean; out: unknown }> {
    validateFunctionNames(ref);
    const spec = parseFunctionPut(body);
    const key = resourceKey(functionId(ref));
    const current = await this.store.getResource(key);
    // The id keeps its first spelling (ARM ids are case-insensitive); the paths are checked with it.
    const stored = current ? (current.spec as FunctionDoc).ref : ref;
    functionPaths(this.dir, stored, spec);
    const doc: FunctionDoc = { ref: stored, spec };
    const at = this.now().toISOString();
    const r = await this.store.putResource(
      {
        key,
        kind: FUNCTION_KIND,
        parentKey: resourceKey(siteId(ref)),
        name: stored.name,
        spec: doc,
        createdAt: current?.createdAt ?? at,
        updatedAt: at,
      },
      this.now().getTime(),
    );
    this.changed(key);
    return { created: r.created, out: renderFunction(doc) };
  }

  async get(ref: FunctionRef): Promise<unknown> {
    const rec = await this.store.getResource(resourceKey(functionId(ref)));
    if (!rec || rec.kind !== FUNCTION_KIND) throw notFound('function', functionId(ref));
    return renderFunction(rec.spec as FunctionDoc);
  }

  async list(ref: SiteRef): Promise<unknown[]> {
    const rows = await this.store.listResources({ kind: FUNCTION_KIND, parentKey: resourceKey(siteId(ref)) });
    return rows.map((r: ResourceRecord) => renderFunction(r.spec as FunctionDoc));
  }

  /** True when it existed. Deliveries to a deleted function fail and are retried (it may come back). */
  async delete(ref: FunctionRef): Promise<boolean> {
    const key = resourceKey(functionId(ref));
    const rec = await this.store.getResource(key);
    if (!rec || rec.kind !== FUNCTION_KIND) return false;
    const gone = await this.store.deleteResource(key, this.now().getTime());
    this.changed(key);
    return gone;
  }

  async find(resourceId: string): Promise<FunctionDoc | undefined> {
    const rec = await this.store.getResource(resourceKey(resourceId));
    return rec?.kind === FUNCTION_KIND ? (rec.spec as FunctionDoc) : undefined;
  }
}
