-- The attempt log names its subscription by reference too (008 did it for deliveries): one row per HTTP request
-- carried the ~190-byte key in the row and in delivery_attempts_by_subscription, about half of a row's bytes
-- for one event per request, kept for the whole retention period.
INSERT OR IGNORE INTO subscription_refs (key) SELECT DISTINCT subscription_key FROM delivery_attempts;
ALTER TABLE delivery_attempts ADD COLUMN sub INTEGER NOT NULL DEFAULT 0;  -- subscription_refs.id
UPDATE delivery_attempts SET sub = (SELECT r.id FROM subscription_refs r WHERE r.key = subscription_key);
DROP INDEX delivery_attempts_by_subscription;
ALTER TABLE delivery_attempts DROP COLUMN subscription_key;
CREATE INDEX delivery_attempts_by_subscription ON delivery_attempts (sub, started_at);
