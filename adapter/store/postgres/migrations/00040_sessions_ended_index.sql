-- The sweep finds sessions past their retention by two partial indexes, not one on updated_at:
-- ended sessions (expires_at NULL) by updated_at, open ones by expires_at (sessions_expires_at,
-- 00030). Every step of an open session rewrote its updated_at entry; now it leaves it alone
-- until the session ends (docs/BENCHMARKS.md).
--
-- CONCURRENTLY, outside a transaction: building the index on a large sessions table must not
-- hold up the commits of the replicas still running. A build that failed midway leaves an
-- invalid index, which the next Up drops and builds again.

-- +goose NO TRANSACTION
-- +goose Up
-- +goose StatementBegin
DO $$ BEGIN
  IF EXISTS (SELECT 1 FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
             WHERE c.relname = 'sessions_ended' AND c.relnamespace = current_schema()::regnamespace AND NOT i.indisvalid) THEN
    EXECUTE 'DROP INDEX sessions_ended';
  END IF;
END $$;
-- +goose StatementEnd
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_ended ON sessions (updated_at) WHERE expires_at IS NULL;
DROP INDEX CONCURRENTLY IF EXISTS sessions_updated_at;

-- +goose Down
CREATE INDEX CONCURRENTLY IF NOT EXISTS sessions_updated_at ON sessions (updated_at);
DROP INDEX CONCURRENTLY IF EXISTS sessions_ended;
