-- Delivery throughput: every delivery row carried its subscription's key (a ~190-byte resource id) twice, in the
-- row and in deliveries_by_subscription: 490 bytes per row where 70 do, so a settlement dirtied, committed and
-- checkpointed seven times the pages. Rows now name their subscription by a small integer from subscription_refs
-- (one row per key ever subscribed, never deleted, so an id always means the same key). Measured: 2.5 → 1.0 µs
-- per settled row standalone (see docs/performance.md, "Delivery: subscription references").
CREATE TABLE subscription_refs (
  id  INTEGER PRIMARY KEY,
  key TEXT NOT NULL UNIQUE
);
INSERT INTO subscription_refs (key)
  SELECT key FROM event_subscriptions UNION SELECT subscription_key FROM deliveries ORDER BY 1;
-- A subscription's reference exists from its creation (an upsert that updates fires no INSERT trigger, and
-- needs none: the key was inserted before).
CREATE TRIGGER event_subscriptions_ref AFTER INSERT ON event_subscriptions
BEGIN
  INSERT OR IGNORE INTO subscription_refs (key) VALUES (new.key);
END;

CREATE TABLE deliveries_new (
  id                 INTEGER PRIMARY KEY,
  sub                INTEGER NOT NULL,         -- subscription_refs.id
  event_seq          INTEGER NOT NULL REFERENCES events (seq),
  status             TEXT NOT NULL,            -- pending | delivered | deadlettered | dropped
  attempts           INTEGER NOT NULL DEFAULT 0,
  next_attempt_at    INTEGER NOT NULL,         -- epoch ms
  lease_owner        TEXT,
  lease_until        INTEGER,
  created_at         INTEGER NOT NULL,
  last_attempt_at    INTEGER,
  last_status_code   INTEGER,
  last_outcome       TEXT,
  dead_letter_reason TEXT,
  settled_at         INTEGER
);
INSERT INTO deliveries_new (id, sub, event_seq, status, attempts, next_attempt_at, lease_owner, lease_until,
    created_at, last_attempt_at, last_status_code, last_outcome, dead_letter_reason, settled_at)
  SELECT d.id, r.id, d.event_seq, d.status, d.attempts, d.next_attempt_at, d.lease_owner, d.lease_until,
    d.created_at, d.last_attempt_at, d.last_status_code, d.last_outcome, d.dead_letter_reason, d.settled_at
  FROM deliveries d JOIN subscription_refs r ON r.key = d.subscription_key;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_claimable ON deliveries (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX deliveries_by_subscription ON deliveries (sub, id);
CREATE INDEX deliveries_deadlettered ON deliveries (sub, id) WHERE status = 'deadlettered';
