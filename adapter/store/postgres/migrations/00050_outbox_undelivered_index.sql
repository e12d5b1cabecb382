-- The writes not delivered yet (pending, claimed, parked) by id, for ListOutbox: the operator's
-- list, the outbox metrics at every scrape and /readyz. Without it a list walked the primary
-- key past every delivered write kept for store.retention.delivered (days of them) before the
-- first open one.
--
-- CONCURRENTLY, outside a transaction: the replicas still running keep writing the outbox
-- while it builds. A build that failed midway leaves an invalid index, which the next Up
-- drops and builds again.

-- +goose NO TRANSACTION
-- +goose Up
-- +goose StatementBegin
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE c.relname = 'outbox_undelivered' AND c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid) THEN
    EXECUTE 'DROP INDEX outbox_undelivered';
  END IF;
END $$;
-- +goose StatementEnd
CREATE INDEX CONCURRENTLY IF NOT EXISTS outbox_undelivered ON outbox (id) WHERE status IN (1, 2, 3);

-- +goose Down
DROP INDEX CONCURRENTLY IF EXISTS outbox_undelivered;
