-- The attempt log names its subscription by reference too (007 did it for deliveries): one row per HTTP request
-- carried the ~190-byte key in the row and in delivery_attempts_by_subscription, about half of a row's bytes
-- for one event per request, kept for the whole retention period; an insert cost 8.5–9.3 µs of server time
-- against 6.0–6.8 with the integer (docs/performance.md).
INSERT INTO subscription_refs (key) SELECT DISTINCT subscription_key FROM delivery_attempts
  ON CONFLICT (key) DO NOTHING;
ALTER TABLE delivery_attempts ADD COLUMN sub INTEGER;
UPDATE delivery_attempts a SET sub = r.id FROM subscription_refs r WHERE r.key = a.subscription_key;
ALTER TABLE delivery_attempts ALTER COLUMN sub SET NOT NULL;
DROP INDEX IF EXISTS delivery_attempts_by_subscription;
ALTER TABLE delivery_attempts DROP COLUMN subscription_key;
CREATE INDEX delivery_attempts_by_subscription ON delivery_attempts (sub, started_at);
