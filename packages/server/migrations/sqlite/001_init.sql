-- mlgrid schema v1 (SQLite). Append-only: never edit a released migration, add a new file.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE topics (
  key             TEXT PRIMARY KEY,          -- lower-cased resource id
  id              TEXT NOT NULL,             -- resource id as first created
  subscription_id TEXT NOT NULL COLLATE NOCASE,
  resource_group  TEXT NOT NULL COLLATE NOCASE,
  name            TEXT NOT NULL COLLATE NOCASE UNIQUE,
  spec            TEXT NOT NULL,             -- TopicSpec JSON
  key1            TEXT NOT NULL,
  key2            TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE INDEX topics_by_group ON topics (subscription_id, resource_group);

CREATE TABLE event_subscriptions (
  key                TEXT PRIMARY KEY,       -- lower-cased resource id
  id                 TEXT NOT NULL,
  scope_key          TEXT NOT NULL,          -- lower-cased source resource id
  name               TEXT NOT NULL,
  spec               TEXT NOT NULL,          -- EventSubscriptionSpec JSON (holds secrets)
  provisioning_state TEXT NOT NULL,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL
);
CREATE INDEX event_subscriptions_by_scope ON event_subscriptions (scope_key);

CREATE TABLE events (
  seq          INTEGER PRIMARY KEY,
  event_id     TEXT NOT NULL,
  source_key   TEXT NOT NULL,                -- lower-cased topic / source resource id
  event_type   TEXT NOT NULL,
  subject      TEXT NOT NULL,
  schema       TEXT NOT NULL,                -- input schema of body
  body         TEXT NOT NULL,                -- the event as accepted (stamped), JSON
  published_at INTEGER NOT NULL              -- epoch ms
);

CREATE TABLE deliveries (
  id               INTEGER PRIMARY KEY,
  subscription_key TEXT NOT NULL,
  event_seq        INTEGER NOT NULL REFERENCES events (seq),
  status           TEXT NOT NULL,            -- pending | delivered | deadlettered | dropped
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  INTEGER NOT NULL,         -- epoch ms
  lease_owner      TEXT,
  lease_until      INTEGER,
  created_at       INTEGER NOT NULL
);
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_key, status, id);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
