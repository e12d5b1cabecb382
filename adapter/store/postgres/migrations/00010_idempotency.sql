-- The answers to API requests sent with an Idempotency-Key (adapter/httpapi): a hash of the
-- request and an answer without personal data (ids, field names, verdicts), kept until
-- expires.

-- +goose Up
-- status is the answer's HTTP status, 0 while the request runs (until lease_until).
CREATE TABLE idempotency (
    scope       text NOT NULL,
    key         text NOT NULL,
    fingerprint bytea NOT NULL,
    token       text NOT NULL,
    status      smallint NOT NULL,
    body        bytea NOT NULL,
    lease_until timestamptz NOT NULL,
    expires     timestamptz NOT NULL,
    PRIMARY KEY (scope, key)
);
CREATE INDEX idempotency_expires ON idempotency (expires);

-- +goose Down
DROP TABLE idempotency;
