-- idverify's store on PostgreSQL: sessions, failures, verified marks, resets, the outbox and
-- the audit. Times are timestamptz (microseconds). Nothing here holds personal data: record
-- ids, digests, field names, verdicts and codes.

-- +goose Up
CREATE TABLE sessions (
    id         text PRIMARY KEY,
    data       bytea NOT NULL,
    version    bigint NOT NULL,
    updated_at timestamptz NOT NULL
);
CREATE INDEX sessions_updated_at ON sessions (updated_at);

-- One row per person a commit or a reset names: the row each locks (FOR UPDATE, in person
-- order) so that a guard's count holds until its commit ends, across replicas.
CREATE TABLE people (
    person text PRIMARY KEY
);

CREATE TABLE failures (
    key    text PRIMARY KEY,
    person text NOT NULL,
    at     timestamptz NOT NULL
);
CREATE INDEX failures_person_at ON failures (person, at);
CREATE INDEX failures_at ON failures (at);

CREATE TABLE marks (
    engagement text NOT NULL,
    person     text NOT NULL,
    role       smallint NOT NULL,
    at         timestamptz NOT NULL,
    until      timestamptz NOT NULL,
    PRIMARY KEY (engagement, person, role)
);
CREATE INDEX marks_until ON marks (until);

CREATE TABLE resets (
    id      bigserial PRIMARY KEY,
    person  text NOT NULL,
    actor   text NOT NULL,
    reason  text NOT NULL,
    at      timestamptz NOT NULL,
    cleared integer NOT NULL
);
CREATE INDEX resets_person ON resets (person, id);

-- status: 1 pending, 2 claimed, 3 parked, 4 delivered (flows.OutboxStatus).
CREATE TABLE outbox (
    id           bigserial PRIMARY KEY,
    key          text NOT NULL UNIQUE,
    engagement   text NOT NULL,
    queued_at    timestamptz NOT NULL,
    payload      jsonb NOT NULL,
    status       smallint NOT NULL,
    attempts     integer NOT NULL DEFAULT 0,
    code         text NOT NULL DEFAULT '',
    next_attempt timestamptz NOT NULL,
    delivered_at timestamptz
);
-- The writes not yet settled, by engagement: the head of each engagement's queue.
CREATE INDEX outbox_open ON outbox (engagement, id) WHERE status IN (1, 2);
CREATE INDEX outbox_due ON outbox (next_attempt, id) WHERE status IN (1, 2);
CREATE INDEX outbox_delivered ON outbox (delivered_at) WHERE status = 4;

CREATE TABLE audit (
    id          bigserial PRIMARY KEY,
    at          timestamptz NOT NULL,
    session_key text NOT NULL,
    engagement  text NOT NULL,
    actor       text NOT NULL,
    step        text NOT NULL,
    from_state  smallint NOT NULL,
    to_state    smallint NOT NULL,
    outcome     smallint NOT NULL,
    person      text NOT NULL,
    rule        text NOT NULL,
    failures    integer NOT NULL
);
CREATE INDEX audit_engagement ON audit (engagement, id);
CREATE INDEX audit_person ON audit (person, id) WHERE person <> '';
CREATE INDEX audit_at ON audit (at);

-- +goose Down
DROP TABLE audit;
DROP TABLE outbox;
DROP TABLE resets;
DROP TABLE marks;
DROP TABLE failures;
DROP TABLE people;
DROP TABLE sessions;
