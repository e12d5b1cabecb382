package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/idverify/idverify/adapter/httpapi"
)

// The store of the API's Idempotency-Key answers (httpapi.IdempotencyStore), in the table
// idempotency (migrations/00010_idempotency.sql).

var _ httpapi.IdempotencyStore = (*Store)(nil)

// BeginIdempotent implements httpapi.IdempotencyStore in one transaction: the upsert claims the
// key unless a live record holds it; either way it locks the key's row, so the record read
// next is the one that holds it until the transaction ends, whatever other replicas do.
func (s *Store) BeginIdempotent(ctx context.Context, r httpapi.IdempotentRequest) (httpapi.IdempotencyRecord, bool, error) {
	var rec httpapi.IdempotencyRecord
	started := false
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO idempotency (scope, key, fingerprint, token, status, body, lease_until, expires)
			VALUES ($1, $2, $3, $4, 0, '', $5, $6)
			ON CONFLICT (scope, key) DO UPDATE SET fingerprint = EXCLUDED.fingerprint, token = EXCLUDED.token, status = 0,
				body = '', lease_until = EXCLUDED.lease_until, expires = EXCLUDED.expires
			WHERE idempotency.expires <= $7 OR (idempotency.status = 0 AND idempotency.lease_until <= $7)`,
			r.Scope, r.Key, r.Fingerprint, r.Token, r.LeaseUntil, r.Expires, r.Now)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			started = true
			return nil
		}
		var status int16
		err = tx.QueryRow(ctx, `SELECT fingerprint, status, body, lease_until, expires FROM idempotency WHERE scope = $1 AND key = $2`,
			r.Scope, r.Key).Scan(&rec.Fingerprint, &status, &rec.Body, &rec.LeaseUntil, &rec.Expires)
		rec.Status = int(status)
		return err
	})
	if err != nil {
		return httpapi.IdempotencyRecord{}, false, formatError("begin idempotent", err)
	}
	return rec, started, nil
}

// FinishIdempotent implements httpapi.IdempotencyStore.
func (s *Store) FinishIdempotent(ctx context.Context, scope, key, token string, status int, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	return s.claim(ctx, "finish idempotent", `UPDATE idempotency SET status = $4, body = $5
		WHERE scope = $1 AND key = $2 AND token = $3 AND status = 0`, scope, key, token, int16(status), body)
}

// ReleaseIdempotent implements httpapi.IdempotencyStore.
func (s *Store) ReleaseIdempotent(ctx context.Context, scope, key, token string) error {
	return s.claim(ctx, "release idempotent", `DELETE FROM idempotency WHERE scope = $1 AND key = $2 AND token = $3 AND status = 0`,
		scope, key, token)
}

// claim runs a statement on the row a pending claim holds.
func (s *Store) claim(ctx context.Context, op, sql string, args ...any) error {
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return formatError(op, err)
	}
	if tag.RowsAffected() == 0 {
		return httpapi.ErrIdempotencyClaimLost
	}
	return nil
}

// SweepIdempotent implements httpapi.IdempotencyStore.
func (s *Store) SweepIdempotent(ctx context.Context, now time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM idempotency WHERE expires <= $1`, now)
	if err != nil {
		return 0, formatError("sweep idempotent", err)
	}
	return tag.RowsAffected(), nil
}
