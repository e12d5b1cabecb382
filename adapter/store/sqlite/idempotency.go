package sqlite

import (
	"context"
	"time"

	"github.com/idverify/idverify/adapter/httpapi"
)

// The store of the API's Idempotency-Key answers (httpapi.IdempotencyStore), in the table
// idempotency (migrations/00010_idempotency.sql).

var _ httpapi.IdempotencyStore = (*Store)(nil)

// The frequent statements, prepared when the store opens.
const (
	beginIdempotent = `INSERT INTO idempotency (scope, key, fingerprint, token, status, body, lease_until, expires)
			VALUES (?, ?, ?, ?, 0, x'', ?, ?)
			ON CONFLICT (scope, key) DO UPDATE SET fingerprint = excluded.fingerprint, token = excluded.token, status = 0,
				body = x'', lease_until = excluded.lease_until, expires = excluded.expires
			WHERE idempotency.expires <= ? OR (idempotency.status = 0 AND idempotency.lease_until <= ?)`
	finishIdempotent  = `UPDATE idempotency SET status = ?, body = ? WHERE scope = ? AND key = ? AND token = ? AND status = 0`
	releaseIdempotent = `DELETE FROM idempotency WHERE scope = ? AND key = ? AND token = ? AND status = 0`
)

// BeginIdempotent implements httpapi.IdempotencyStore as one write: the key is claimed unless
// a live record holds it, which is returned.
func (s *Store) BeginIdempotent(ctx context.Context, r httpapi.IdempotentRequest) (httpapi.IdempotencyRecord, bool, error) {
	var rec httpapi.IdempotencyRecord
	started := false
	err := s.write(ctx, "begin idempotent", func(ctx context.Context, tx *writeTx) error {
		now := us(r.Now)
		res, err := tx.exec(ctx, beginIdempotent, r.Scope, r.Key, r.Fingerprint, r.Token, us(r.LeaseUntil), us(r.Expires), now, now)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 1 {
			started = true
			return nil
		}
		var lease, expires int64
		err = tx.tx.QueryRowContext(ctx, `SELECT fingerprint, status, body, lease_until, expires FROM idempotency WHERE scope = ? AND key = ?`,
			r.Scope, r.Key).Scan(&rec.Fingerprint, &rec.Status, &rec.Body, &lease, &expires)
		rec.LeaseUntil, rec.Expires = at(lease), at(expires)
		return err
	})
	if err != nil {
		return httpapi.IdempotencyRecord{}, false, err
	}
	return rec, started, nil
}

// FinishIdempotent implements httpapi.IdempotencyStore.
func (s *Store) FinishIdempotent(ctx context.Context, scope, key, token string, status int, body []byte) error {
	if body == nil {
		body = []byte{}
	}
	return s.write(ctx, "finish idempotent", func(ctx context.Context, tx *writeTx) error {
		res, err := tx.exec(ctx, finishIdempotent, status, body, scope, key, token)
		return changed(res, err, httpapi.ErrIdempotencyClaimLost)
	})
}

// ReleaseIdempotent implements httpapi.IdempotencyStore.
func (s *Store) ReleaseIdempotent(ctx context.Context, scope, key, token string) error {
	return s.write(ctx, "release idempotent", func(ctx context.Context, tx *writeTx) error {
		res, err := tx.exec(ctx, releaseIdempotent, scope, key, token)
		return changed(res, err, httpapi.ErrIdempotencyClaimLost)
	})
}

// SweepIdempotent implements httpapi.IdempotencyStore.
func (s *Store) SweepIdempotent(ctx context.Context, now time.Time) (int64, error) {
	var n int64
	err := s.write(ctx, "sweep idempotent", func(ctx context.Context, tx *writeTx) error {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM idempotency WHERE expires <= ?`, us(now))
		if err != nil {
			return err
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}
