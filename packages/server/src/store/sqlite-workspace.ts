/** SQLite statements for the ML workspace resources (kept apart so sqlite-store.ts stays readable). */
import type Database from 'better-sqlite3';

/** Named here: declaration emit cannot name better-sqlite3's internal `BetterSqlite3.Statement`. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface WorkspaceStatement extends Database.Statement {}

export function prepareWorkspace(db: Database.Database) {
  const p = (sql: string): WorkspaceStatement => db.prepare(sql);
  return {
    putWorkspace:
      p(`INSERT INTO workspaces (key, id, subscription_id, resource_group, name, workspace_guid, spec, created_at, updated_at)
      VALUES (@key, @id, @subscriptionId, @resourceGroup, @name, @workspaceGuid, @spec, @createdAt, @updatedAt)
      ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`),
    getWorkspace: p('SELECT * FROM workspaces WHERE key = ?'),
    listWorkspacesBySub: p('SELECT * FROM workspaces WHERE subscription_id = ? ORDER BY name'),
    listWorkspacesByGroup: p(
      'SELECT * FROM workspaces WHERE subscription_id = ? AND resource_group = ? ORDER BY name',
    ),
    deleteWorkspace: p('DELETE FROM workspaces WHERE key = ?'),
    deleteWorkspaceVersions: p(
      'DELETE FROM model_versions WHERE container_key IN (SELECT key FROM model_containers WHERE workspace_key = ?)',
    ),
    deleteWorkspaceContainers: p('DELETE FROM model_containers WHERE workspace_key = ?'),
    putContainer: p(`INSERT INTO model_containers (key, workspace_key, name, spec, created_at, updated_at)
      VALUES (@key, @workspaceKey, @name, @spec, @createdAt, @updatedAt)
      ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, updated_at = excluded.updated_at`),
    getContainer: p('SELECT * FROM model_containers WHERE key = ?'),
    listContainers: p('SELECT * FROM model_containers WHERE workspace_key = ? ORDER BY name'),
    deleteContainer: p('DELETE FROM model_containers WHERE key = ?'),
    deleteContainerVersions: p('DELETE FROM model_versions WHERE container_key = ?'),
    nextSequencer: p(
      'SELECT coalesce(max(sequencer), 0) + 1 AS s FROM model_versions WHERE container_key = ?',
    ),
    putVersion:
      p(`INSERT INTO model_versions (key, container_key, version, spec, sequencer, created_at, updated_at)
      VALUES (@key, @containerKey, @version, @spec, @sequencer, @createdAt, @updatedAt)
      ON CONFLICT (key) DO UPDATE SET spec = excluded.spec, sequencer = excluded.sequencer, updated_at = excluded.updated_at`),
    getVersion: p('SELECT * FROM model_versions WHERE key = ?'),
    listVersions: p('SELECT * FROM model_versions WHERE container_key = ? ORDER BY created_at, version'),
    deleteVersion: p('DELETE FROM model_versions WHERE key = ?'),
  };
}
