-- mlgrid schema v1 (PostgreSQL). Append-only: never edit a released migration, add a new file.
CREATE TABLE meta (
  key   TEXT PRIMARY KEY,
  value TEXT NOT NULL
);

CREATE TABLE topics (
  key             TEXT PRIMARY KEY,
  id              TEXT NOT NULL,
  subscription_id TEXT NOT NULL,
  resource_group  TEXT NOT NULL,
  name            TEXT NOT NULL,
  spec            TEXT NOT NULL,
  key1            TEXT NOT NULL,
  key2            TEXT NOT NULL,
  created_at      TEXT NOT NULL,
  updated_at      TEXT NOT NULL
);
CREATE UNIQUE INDEX topics_name ON topics (lower(name));
CREATE INDEX topics_by_group ON topics (lower(subscription_id), lower(resource_group));

CREATE TABLE event_subscriptions (
  key                TEXT PRIMARY KEY,
  id                 TEXT NOT NULL,
  scope_key          TEXT NOT NULL,
  name               TEXT NOT NULL,
  spec               TEXT NOT NULL,
  provisioning_state TEXT NOT NULL,
  created_at         TEXT NOT NULL,
  updated_at         TEXT NOT NULL
);
CREATE INDEX event_subscriptions_by_scope ON event_subscriptions (scope_key);

CREATE TABLE events (
  seq          BIGSERIAL PRIMARY KEY,
  event_id     TEXT NOT NULL,
  source_key   TEXT NOT NULL,
  event_type   TEXT NOT NULL,
  subject      TEXT NOT NULL,
  schema       TEXT NOT NULL,
  body         TEXT NOT NULL,
  published_at BIGINT NOT NULL
);

CREATE TABLE deliveries (
  id               BIGSERIAL PRIMARY KEY,
  subscription_key TEXT NOT NULL,
  event_seq        BIGINT NOT NULL REFERENCES events (seq),
  status           TEXT NOT NULL,
  attempts         INTEGER NOT NULL DEFAULT 0,
  next_attempt_at  BIGINT NOT NULL,
  lease_owner      TEXT,
  lease_until      BIGINT,
  created_at       BIGINT NOT NULL
);
CREATE INDEX deliveries_by_subscription ON deliveries (subscription_key, status, id);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
