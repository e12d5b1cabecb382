-- The sweep finds sessions past their retention by two partial indexes, not one on updated_at:
-- ended sessions (expires_at NULL) by updated_at, open ones by expires_at (sessions_expires_at,
-- 00030). Every step of an open session rewrote its updated_at entry; now it leaves it alone
-- until the session ends: two fewer index pages written a step (docs/BENCHMARKS.md).

-- +goose Up
CREATE INDEX sessions_ended ON sessions (updated_at) WHERE expires_at IS NULL;
DROP INDEX sessions_updated_at;

-- +goose Down
CREATE INDEX sessions_updated_at ON sessions (updated_at);
DROP INDEX sessions_ended;
