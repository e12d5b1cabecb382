-- When each open session expires if no step comes first (flows.Commit.Expires); NULL once it
-- has ended. The sweep lists the sessions past it (flows.IdleSessions) for the engine to
-- expire, so an abandoned call still records its outcome. Sessions stored before this
-- migration have none and are expired only when read.

-- +goose Up
ALTER TABLE sessions ADD COLUMN expires_at timestamptz;
CREATE INDEX sessions_expires_at ON sessions (expires_at) WHERE expires_at IS NOT NULL;

-- +goose Down
DROP INDEX sessions_expires_at;
ALTER TABLE sessions DROP COLUMN expires_at;
