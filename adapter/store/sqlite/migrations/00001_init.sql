-- idverify's store on SQLite: sessions, failures, verified marks, resets, the outbox and the
-- audit. Times are INTEGER unix microseconds (UTC). Nothing here holds personal data: record
-- ids, digests, field names, verdicts and codes.

-- +goose Up
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    data       BLOB NOT NULL,
    version    INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE INDEX sessions_updated_at ON sessions (updated_at);

CREATE TABLE failures (
    key    TEXT PRIMARY KEY,
    person TEXT NOT NULL,
    at     INTEGER NOT NULL
) STRICT;
CREATE INDEX failures_person_at ON failures (person, at);
CREATE INDEX failures_at ON failures (at);

CREATE TABLE marks (
    engagement TEXT NOT NULL,
    person     TEXT NOT NULL,
    role       INTEGER NOT NULL,
    at         INTEGER NOT NULL,
    until      INTEGER NOT NULL,
    PRIMARY KEY (engagement, person, role)
) STRICT;
CREATE INDEX marks_until ON marks (until);

CREATE TABLE resets (
    id      INTEGER PRIMARY KEY,
    person  TEXT NOT NULL,
    actor   TEXT NOT NULL,
    reason  TEXT NOT NULL,
    at      INTEGER NOT NULL,
    cleared INTEGER NOT NULL
) STRICT;
CREATE INDEX resets_person ON resets (person, id);

-- status: 1 pending, 2 claimed, 3 parked, 4 delivered (flows.OutboxStatus).
CREATE TABLE outbox (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    key          TEXT NOT NULL UNIQUE,
    engagement   TEXT NOT NULL,
    queued_at    INTEGER NOT NULL,
    payload      BLOB NOT NULL,
    status       INTEGER NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    code         TEXT NOT NULL DEFAULT '',
    next_attempt INTEGER NOT NULL,
    delivered_at INTEGER
) STRICT;
CREATE INDEX outbox_open ON outbox (engagement, id) WHERE status IN (1, 2);
CREATE INDEX outbox_due ON outbox (next_attempt, id) WHERE status IN (1, 2);
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE status = 4;

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    session_key TEXT NOT NULL,
    engagement  TEXT NOT NULL,
    actor       TEXT NOT NULL,
    step        TEXT NOT NULL,
    from_state  INTEGER NOT NULL,
    to_state    INTEGER NOT NULL,
    outcome     INTEGER NOT NULL,
    person      TEXT NOT NULL,
    rule        TEXT NOT NULL,
    failures    INTEGER NOT NULL
) STRICT;
CREATE INDEX audit_engagement ON audit (engagement, id);
CREATE INDEX audit_person ON audit (person, id) WHERE person <> '';
CREATE INDEX audit_at ON audit (at);

-- +goose Down
DROP TABLE audit;
DROP TABLE outbox;
DROP TABLE resets;
DROP TABLE marks;
DROP TABLE failures;
DROP TABLE sessions;
