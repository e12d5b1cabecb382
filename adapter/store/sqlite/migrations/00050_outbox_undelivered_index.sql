-- The writes not delivered yet (pending, claimed, parked) by id, for ListOutbox: the operator's
-- list, the outbox metrics at every scrape and /readyz. Without it a list walked the primary
-- key past every delivered write kept for store.retention.delivered (days of them) before the
-- first open one.

-- +goose Up
CREATE INDEX outbox_undelivered ON outbox (id) WHERE status IN (1, 2, 3);

-- +goose Down
DROP INDEX outbox_undelivered;
