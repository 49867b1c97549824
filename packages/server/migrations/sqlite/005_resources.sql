-- Generic documents for the resources that need no columns of their own: data assets, online endpoints and
-- deployments, principals, API keys, role assignments. `key` is the lower-cased resource id; a resource's
-- descendants are exactly the keys in [key || '/', key || '0') ('/' and '0' are neighbours in byte order).
-- `sequencer` counts the committed changes of one resource (compare-and-set, event ordering).
CREATE TABLE resources (
  key        TEXT PRIMARY KEY,
  kind       TEXT NOT NULL,
  parent_key TEXT NOT NULL,
  name       TEXT NOT NULL,
  lookup     TEXT,                             -- secondary key (a key hash, a principal id)
  spec       TEXT NOT NULL,
  sequencer  BIGINT NOT NULL,
  created_at TEXT NOT NULL,
  updated_at TEXT NOT NULL
);
CREATE INDEX resources_by_parent ON resources (kind, parent_key, created_at);
CREATE INDEX resources_by_lookup ON resources (kind, lookup);
