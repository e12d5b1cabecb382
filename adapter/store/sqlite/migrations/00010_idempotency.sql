-- The answers to API requests sent with an Idempotency-Key (adapter/httpapi): a hash of the
-- request and an answer without personal data (ids, field names, verdicts), kept until
-- expires. Times are INTEGER unix microseconds (UTC).

-- +goose Up
-- status is the answer's HTTP status, 0 while the request runs (until lease_until).
CREATE TABLE idempotency (
    scope       TEXT NOT NULL,
    key         TEXT NOT NULL,
    fingerprint BLOB NOT NULL,
    token       TEXT NOT NULL,
    status      INTEGER NOT NULL,
    body        BLOB NOT NULL,
    lease_until INTEGER NOT NULL,
    expires     INTEGER NOT NULL,
    PRIMARY KEY (scope, key)
) STRICT;
CREATE INDEX idempotency_expires ON idempotency (expires);

-- +goose Down
DROP TABLE idempotency;
