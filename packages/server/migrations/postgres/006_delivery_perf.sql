-- Delivery throughput: deliveries_due (status, next_attempt_at) is superseded by the partial index
-- deliveries_claimable (next_attempt_at, id) WHERE status = 'pending', which serves claims, nextDueAt and
-- countPending. Dropping it saves an index update on every insert, lease and settlement.
DROP INDEX IF EXISTS deliveries_due;
