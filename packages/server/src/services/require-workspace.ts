/** The workspace a request names, or 404: every workspace-scoped service starts here. */
import { notFound } from '../core/errors.js';
import { workspaceId, type WorkspaceRef } from '../core/ml-events.js';
import type { Store, WorkspaceRecord } from '../store/types.js';

export async function requireWorkspace(store: Store, ref: WorkspaceRef): Promise<WorkspaceRecord> {
  const rec = await store.getWorkspace(workspaceId(ref).toLowerCase());
  if (!rec) throw notFound('workspace', workspaceId(ref));
  return rec;
}
