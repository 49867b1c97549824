-- Delivery engine: leases, outcomes, dead letters, the attempt log, webhook validation state, replay lookups.
ALTER TABLE deliveries ADD COLUMN last_attempt_at INTEGER;
ALTER TABLE deliveries ADD COLUMN last_status_code INTEGER;
ALTER TABLE deliveries ADD COLUMN last_outcome TEXT;
ALTER TABLE deliveries ADD COLUMN dead_letter_reason TEXT;
ALTER TABLE deliveries ADD COLUMN settled_at INTEGER;
CREATE INDEX deliveries_claimable ON deliveries (next_attempt_at, id) WHERE status = 'pending';

CREATE TABLE delivery_attempts (
  id               INTEGER PRIMARY KEY,
  subscription_key TEXT NOT NULL,
  started_at       INTEGER NOT NULL,         -- epoch ms
  duration_ms      INTEGER NOT NULL,
  delivery_count   INTEGER NOT NULL,         -- aeg-delivery-count sent
  event_ids        TEXT NOT NULL,            -- JSON array: one HTTP request may carry a batch
  status_code      INTEGER,
  outcome          TEXT NOT NULL,
  response_excerpt TEXT
);
CREATE INDEX delivery_attempts_by_subscription ON delivery_attempts (subscription_key, started_at);

ALTER TABLE event_subscriptions ADD COLUMN validation_code TEXT;
ALTER TABLE event_subscriptions ADD COLUMN validation_deadline INTEGER;

CREATE INDEX events_by_source_time ON events (source_key, published_at);
CREATE INDEX events_by_time ON events (published_at);
