-- ML workspace resources: workspaces, model containers and versions. Their events are appended in the
-- same transaction as the change (outbox), so an event is raised exactly once per committed change.
CREATE TABLE workspaces (
  key             TEXT PRIMARY KEY,            -- lower-cased resource id
  id              TEXT NOT NULL,
  subscription_id TEXT NOT NULL COLLATE NOCASE,
  resource_group  TEXT NOT NULL COLLATE NOCASE,
  name            TEXT NOT NULL,
  workspace_guid  TEXT NOT NULL,
  spec            TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE INDEX workspaces_by_group ON workspaces (subscription_id, resource_group);

CREATE TABLE model_containers (
  key           TEXT PRIMARY KEY,              -- lower-cased {workspace id}/models/{name}
  workspace_key TEXT NOT NULL,
  name          TEXT NOT NULL,
  spec          TEXT NOT NULL,
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE INDEX model_containers_by_workspace ON model_containers (workspace_key);

CREATE TABLE model_versions (
  key           TEXT PRIMARY KEY,              -- lower-cased {container key}/versions/{version}
  container_key TEXT NOT NULL,
  version       TEXT NOT NULL,
  spec          TEXT NOT NULL,
  sequencer     INTEGER NOT NULL,              -- monotonic per model container: orders its events
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL
);
CREATE INDEX model_versions_by_container ON model_versions (container_key);
