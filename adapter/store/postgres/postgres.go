// Package postgres is idverify's store on PostgreSQL (pgx v5), for several replicas sharing
// one database: sessions, failures, verified marks, the outbox and the audit.
//
// A Commit is one transaction: the session's row is updated only at the version the step read
// (or inserted, for a new session), which locks it; then the rows of the people the commit
// names are locked FOR UPDATE in person order, the guard's count is read under that lock, and
// the failures, marks, outbox writes and audit events are inserted, all or nothing. So a guard
// holds across replicas: no other commit or reset can change a person's failures between the
// count and the commit. Outbox writes are claimed with FOR UPDATE SKIP LOCKED; the writes
// queued behind an open write of their engagement wait out of the claim's way until it is
// delivered or parked, under a per-engagement lock (see lockQueue).
//
//	st, err := postgres.Open(ctx, "postgres://idverify@db:5432/idverify")
//	if err != nil { ... }
//	defer st.Close()
//
// Open applies the embedded migrations (goose, under a PostgreSQL advisory lock, so replicas
// starting together migrate once). Give the store a database, or a schema (search_path in the
// DSN), of its own.
package postgres

import (
	"cmp"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"slices"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/flows"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the PostgreSQL store. It is safe for concurrent use.
type Store struct {
	pool *pgxpool.Pool
}

var _ store.Store = (*Store)(nil)

// Open connects to the database at dsn (a postgres:// URL or key=value string), migrates it
// and returns the store.
func Open(ctx context.Context, dsn string) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, errors.New("postgres: the DSN cannot be parsed") // the error would quote it, password and all
	}
	return OpenConfig(ctx, cfg)
}

// OpenConfig is Open with a pool configuration.
func OpenConfig(ctx context.Context, cfg *pgxpool.Config) (*Store, error) {
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, formatError("connect", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &Store{pool: pool}, nil
}

func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	db := stdlib.OpenDBFromPool(pool)
	defer db.Close()
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectPostgres, db, sub, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("postgres: migrations: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return formatError("migrate", err)
	}
	return nil
}

// Close closes the pool.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// formatError turns a driver error into the store's: the one place where PostgreSQL's
// errors become flows kinds. The flows sentinels the store returns itself pass through.
func formatError(op string, err error) error {
	if err == nil {
		return nil
	}
	if store.Passes(err) {
		return err
	}
	e := &store.Error{Driver: "postgres", Op: op, Kind: flows.ErrUnavailable, Err: err}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		e.Code = pe.Code
		if pe.Code == "23505" { // unique_violation: someone else created the row first
			e.Kind = flows.ErrVersionConflict
		}
	}
	return e
}

// Get implements flows.SessionStore.
func (s *Store) Get(ctx context.Context, id string) ([]byte, uint64, error) {
	var data []byte
	var version int64
	err := s.pool.QueryRow(ctx, `SELECT data, version FROM sessions WHERE id = $1`, id).Scan(&data, &version)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, 0, flows.ErrNotFound
	}
	if err != nil {
		return nil, 0, formatError("get", err)
	}
	return data, uint64(version), nil
}

// Commit implements flows.SessionStore in one transaction (see the package doc).
func (s *Store) Commit(ctx context.Context, c flows.Commit) (uint64, error) {
	var next int64
	var expires *time.Time // NULL: the session has ended
	if !c.Expires.IsZero() {
		expires = &c.Expires
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		if c.Version == 0 {
			err = tx.QueryRow(ctx, `INSERT INTO sessions (id, data, version, updated_at, expires_at) VALUES ($1, $2, 1, now(), $3)
				ON CONFLICT (id) DO NOTHING RETURNING version`, c.Session, c.Data, expires).Scan(&next)
			if errors.Is(err, pgx.ErrNoRows) {
				return flows.ErrVersionConflict
			}
		} else {
			err = tx.QueryRow(ctx, `UPDATE sessions SET data = $2, version = version + 1, updated_at = now(), expires_at = $4
				WHERE id = $1 AND version = $3 RETURNING version`, c.Session, c.Data, int64(c.Version), expires).Scan(&next)
			if errors.Is(err, pgx.ErrNoRows) {
				var exists bool
				if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1)`, c.Session).Scan(&exists); err != nil {
					return err
				}
				if exists {
					return flows.ErrVersionConflict
				}
				return flows.ErrNotFound
			}
		}
		if err != nil {
			return err
		}
		if err := lockPeople(ctx, tx, store.People(c), c.Guard); err != nil {
			return err
		}
		return insertEffects(ctx, tx, c)
	})
	if err != nil {
		return 0, formatError("commit", err)
	}
	return uint64(next), nil
}

// lockPeople locks the rows of people (sorted), creating those that do not exist yet, and
// then, under those locks, checks g (when its Person is set): three statements in one round
// trip.
func lockPeople(ctx context.Context, tx pgx.Tx, people []string, g flows.Guard) error {
	if len(people) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO people (person) SELECT p FROM unnest($1::text[]) AS p ORDER BY p
		ON CONFLICT (person) DO NOTHING`, people)
	b.Queue(`SELECT person FROM people WHERE person = ANY($1) ORDER BY person FOR UPDATE`, people)
	var n int
	if g.Person != "" {
		b.Queue(`SELECT count(*) FROM failures WHERE person = $1 AND at > $2`, g.Person, g.Since).QueryRow(func(row pgx.Row) error {
			return row.Scan(&n)
		})
	}
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return err
	}
	if g.Person != "" && n != g.Failures {
		return flows.ErrFailuresChanged
	}
	return nil
}

// insertEffects inserts a commit's failures, marks, outbox writes and audit events in one
// round trip, the outbox writes under their engagements' queue locks (see lockQueue), taken
// in engagement order after the session's and the people's rows.
func insertEffects(ctx context.Context, tx pgx.Tx, c flows.Commit) error {
	b := &pgx.Batch{}
	for _, f := range c.Failures {
		b.Queue(`INSERT INTO failures (key, person, at) VALUES ($1, $2, $3) ON CONFLICT (key) DO NOTHING`, f.Key, f.Person, f.At)
	}
	for _, m := range c.Marks {
		b.Queue(`INSERT INTO marks (engagement, person, role, at, until) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (engagement, person, role) DO UPDATE SET at = EXCLUDED.at, until = EXCLUDED.until`,
			m.Engagement, m.Person, int16(m.Role), m.At, m.Until)
	}
	engagements := make([]string, 0, len(c.Outbox))
	for _, w := range c.Outbox {
		engagements = append(engagements, w.Engagement)
	}
	slices.Sort(engagements)
	for _, e := range slices.Compact(engagements) {
		b.Queue(lockQueue, e)
	}
	for _, w := range c.Outbox {
		payload, err := store.EncodeWrite(w)
		if err != nil {
			return err
		}
		b.Queue(insertWrite, w.Key, w.Engagement, w.At, payload)
	}
	for _, a := range c.Audit {
		b.Queue(`INSERT INTO audit (at, session_key, engagement, actor, step, from_state, to_state, outcome, person, rule, failures)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
			a.At, a.SessionKey, a.Engagement, a.Actor, a.Step, int16(a.From), int16(a.To), int16(a.Outcome), a.Person, a.Rule, a.Failures)
	}
	if b.Len() == 0 {
		return nil
	}
	return tx.SendBatch(ctx, b).Close()
}

// IdleSessions implements flows.IdleSessions.
func (s *Store) IdleSessions(ctx context.Context, now time.Time, max int) ([]string, error) {
	rows, _ := s.pool.Query(ctx, `SELECT id FROM sessions WHERE expires_at < $1 ORDER BY expires_at LIMIT $2`, now, max)
	ids, err := pgx.CollectRows(rows, pgx.RowTo[string])
	return ids, formatError("idle sessions", err)
}

// Failures implements flows.SessionStore.
func (s *Store) Failures(ctx context.Context, person string, since time.Time) ([]time.Time, error) {
	rows, err := s.pool.Query(ctx, `SELECT at FROM failures WHERE person = $1 AND at > $2 ORDER BY at`, person, since)
	if err != nil {
		return nil, formatError("failures", err)
	}
	times, err := pgx.CollectRows(rows, pgx.RowTo[time.Time])
	if err != nil {
		return nil, formatError("failures", err)
	}
	return times, nil
}

// Verified implements flows.SessionStore.
func (s *Store) Verified(ctx context.Context, key flows.VerifiedKey, now time.Time) (flows.VerifiedMark, bool, error) {
	m := flows.VerifiedMark{VerifiedKey: key}
	err := s.pool.QueryRow(ctx, `SELECT at, until FROM marks WHERE engagement = $1 AND person = $2 AND role = $3 AND until > $4`,
		key.Engagement, key.Person, int16(key.Role), now).Scan(&m.At, &m.Until)
	if errors.Is(err, pgx.ErrNoRows) {
		return flows.VerifiedMark{}, false, nil
	}
	if err != nil {
		return flows.VerifiedMark{}, false, formatError("verified", err)
	}
	return m, true, nil
}

// VerifiedByEngagement implements flows.SessionStore. The marks' primary key begins with the
// engagement, so this is a range of the key.
func (s *Store) VerifiedByEngagement(ctx context.Context, engagement string, now time.Time) ([]flows.VerifiedMark, error) {
	rows, err := s.pool.Query(ctx, `SELECT person, role, at, until FROM marks WHERE engagement = $1 AND until > $2
		ORDER BY at, role, person`, engagement, now)
	if err != nil {
		return nil, formatError("verified by engagement", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (flows.VerifiedMark, error) {
		m := flows.VerifiedMark{VerifiedKey: flows.VerifiedKey{Engagement: engagement}}
		var role int16
		err := row.Scan(&m.Person, &role, &m.At, &m.Until)
		m.Role = flows.VerifiedRole(role)
		return m, err
	})
	if err != nil {
		return nil, formatError("verified by engagement", err)
	}
	return out, nil
}

// ResetFailures implements flows.SessionStore: it locks the person's row, as a Commit does.
func (s *Store) ResetFailures(ctx context.Context, r flows.Reset) (flows.Reset, error) {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if err := lockPeople(ctx, tx, []string{r.Person}, flows.Guard{}); err != nil {
			return err
		}
		tag, err := tx.Exec(ctx, `DELETE FROM failures WHERE person = $1`, r.Person)
		if err != nil {
			return err
		}
		r.Cleared = int(tag.RowsAffected())
		_, err = tx.Exec(ctx, `INSERT INTO resets (person, actor, reason, at, cleared) VALUES ($1, $2, $3, $4, $5)`,
			r.Person, r.Actor, r.Reason, r.At, r.Cleared)
		if err != nil {
			return err
		}
		return insertEffects(ctx, tx, flows.Commit{Outbox: r.Outbox}) // its events
	})
	if err != nil {
		return flows.Reset{}, formatError("reset failures", err)
	}
	return r, nil
}

// Resets implements flows.SessionStore.
func (s *Store) Resets(ctx context.Context, person string) ([]flows.Reset, error) {
	rows, err := s.pool.Query(ctx, `SELECT person, actor, reason, at, cleared FROM resets WHERE person = $1 ORDER BY id`, person)
	if err != nil {
		return nil, formatError("resets", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (flows.Reset, error) {
		var r flows.Reset
		err := row.Scan(&r.Person, &r.Actor, &r.Reason, &r.At, &r.Cleared)
		return r, err
	})
	if err != nil {
		return nil, formatError("resets", err)
	}
	return out, nil
}

// The statements that change which writes of an engagement are open (pending or claimed):
// a write queued, delivered or parked, a parked write retried.
const (
	// lockQueue takes the engagement's queue lock, until the transaction ends. Each of those
	// statements runs after it in its transaction, and so, READ COMMITTED taking a snapshot per
	// statement, sees every change of the queue's open writes committed before: the
	// transactions that change a queue go one at a time, as on SQLite's one writer. Without it a
	// write queued behind an open write that another replica's Delivered, not seeing the new
	// write, closes at the same time, would wait behind for ever; and so would the write behind
	// two writes of one queue closing at once (a retried parked write goes before the claimed
	// head), each promotion seeing the other still open. A lock of the head's row would not do:
	// an insert locks only what its snapshot sees. A claim or a reschedule leaves the write open
	// and takes no lock. Under the lock a queue's ids are drawn in commit order too: without
	// it a write could commit, be claimed and delivered before one of its queue with a lower id
	// committed. Lock order: a Commit takes the session's row, the people's rows, then these;
	// a settlement or a retry takes this one, then its write's row, which no Commit locks; so
	// no cycle. The key is a 64-bit hash of the engagement: two engagements sharing one only go
	// one at a time, and since a Commit takes its locks in engagement order, two Commits can
	// deadlock on them (PostgreSQL then fails one) only through a 64-bit collision.
	lockQueue = `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`
	// lockQueueOf takes the queue lock of the write id's engagement.
	lockQueueOf = `SELECT pg_advisory_xact_lock(hashtextextended(engagement, 0)) FROM outbox WHERE id = $1`
	// insertWrite queues a write due at its time, or behind an open write of its engagement.
	insertWrite = `INSERT INTO outbox (key, engagement, queued_at, payload, status, next_attempt)
		SELECT $1::text, $2::text, $3::timestamptz, $4::jsonb, 1, CASE WHEN EXISTS (
			SELECT 1 FROM outbox WHERE engagement = $2 AND status IN (1, 2)) THEN ` + behind + ` ELSE $3 END
		ON CONFLICT (key) DO NOTHING`
	// promoteNext makes the oldest open write of the engagement of the write id (which has
	// just been delivered or parked) due at its queued time, if it waited behind.
	promoteNext = `UPDATE outbox SET next_attempt = queued_at
		WHERE id = (SELECT min(id) FROM outbox WHERE engagement = (SELECT engagement FROM outbox WHERE id = $1) AND status IN (1, 2))
		  AND next_attempt = ` + behind
)

// behind is the next_attempt of a write queued behind an open write of its engagement: it
// cannot go before that one is delivered or parked, which makes the next write due at its
// queued time (promoteNext), so each engagement's oldest open write has a real next_attempt.
// The writes behind so sit at the far end of the index outbox_due, where no claim walks: were
// they due, a claim would step over every write queued behind a queue's head waiting out its
// backoff (a webhook subscriber down, whose events are one queue), at every claim. A parked
// write an operator retries goes behind too, unless it is its engagement's oldest open write,
// when the queue's head it goes before keeps its real time (the claim's NOT EXISTS keeps the
// order); so do the writes of a database of an earlier version, which are only slower to claim
// past. ListOutbox shows the queued time instead. An earlier version does not promote: before
// going back to one, make them due again
// (UPDATE outbox SET next_attempt = queued_at WHERE next_attempt = 'infinity').
const behind = `'infinity'::timestamptz`

// entryColumns are an entry's columns, a write behind showing its queued time (pgx cannot
// scan infinity into a time.Time).
const entryColumns = `id, key, engagement, queued_at, payload, status, attempts, code,
	CASE WHEN next_attempt = ` + behind + ` THEN queued_at ELSE next_attempt END`

func scanEntry(row pgx.CollectableRow) (store.StoredEntry, error) {
	var e store.StoredEntry
	var payload []byte
	var status int16
	if err := row.Scan(&e.ID, &e.Key, &e.Engagement, &e.At, &payload, &status, &e.Attempts, &e.Code, &e.NextAttempt); err != nil {
		return e, err
	}
	e.Status = flows.OutboxStatus(status)
	e.Decode(payload)
	return e, nil
}

// ClaimOutbox implements flows.Outbox: the heads of the engagements' queues that are due,
// locked with SKIP LOCKED so that concurrent workers on every replica claim distinct writes;
// the lock re-checks each row's status and time, so a write another worker claimed meanwhile
// is not claimed again. It takes those due longest first, walking the index outbox_due in its
// order up to the LIMIT: in id order the scan went through the delivered writes kept for days
// before the first open one, O(history) per claim. A claimed write whose payload cannot be
// read is parked (store.CodeUnreadable), not returned.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, max int) ([]flows.OutboxEntry, error) {
	rows, err := s.pool.Query(ctx, `WITH due AS (
			SELECT o.id FROM outbox o
			WHERE o.status IN (1, 2) AND o.next_attempt <= $1
			  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.engagement = o.engagement AND p.status IN (1, 2) AND p.id < o.id)
			ORDER BY o.next_attempt, o.id LIMIT $3
			FOR UPDATE SKIP LOCKED)
		UPDATE outbox SET status = 2, attempts = outbox.attempts + 1, next_attempt = $2
		FROM due WHERE outbox.id = due.id
		RETURNING outbox.id, key, engagement, queued_at, payload, status, attempts, code, next_attempt`,
		now, now.Add(lease), max)
	if err != nil {
		return nil, formatError("claim outbox", err)
	}
	claimed, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return nil, formatError("claim outbox", err)
	}
	slices.SortFunc(claimed, func(a, b store.StoredEntry) int { return cmp.Compare(a.ID, b.ID) }) // oldest first
	return store.Readable(ctx, claimed, s.Park), nil
}

// settle runs an update of the write c claims, conditional on the claim still holding; when
// the write leaves its engagement's queue (delivered, parked), under the queue's lock, and the
// next write of the queue becomes due. Those three statements are one batch, which pgx runs as
// one implicit transaction, each statement still with a snapshot of its own: one round trip,
// where a BEGIN and a COMMIT would add two.
func (s *Store) settle(ctx context.Context, op string, c flows.OutboxClaim, closes bool, set string, args ...any) error {
	update := `UPDATE outbox SET ` + set + ` WHERE id = $1 AND status = 2 AND attempts = $2`
	args = append([]any{c.ID, c.Attempt}, args...)
	if !closes {
		tag, err := s.pool.Exec(ctx, update, args...)
		if err != nil {
			return formatError(op, err)
		}
		if tag.RowsAffected() == 0 {
			return flows.ErrClaimLost
		}
		return nil
	}
	b := &pgx.Batch{}
	b.Queue(lockQueueOf, c.ID)
	b.Queue(update, args...).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() == 0 {
			return flows.ErrClaimLost // the promotion that follows then finds the queue's head open, not behind
		}
		return nil
	})
	b.Queue(promoteNext, c.ID)
	return formatError(op, s.pool.SendBatch(ctx, b).Close()) // passes ErrClaimLost
}

// Delivered implements flows.Outbox.
func (s *Store) Delivered(ctx context.Context, c flows.OutboxClaim, now time.Time) error {
	return s.settle(ctx, "delivered", c, true, `status = 4, delivered_at = $3, next_attempt = $3`, now)
}

// Reschedule implements flows.Outbox.
func (s *Store) Reschedule(ctx context.Context, c flows.OutboxClaim, code string, next time.Time) error {
	return s.settle(ctx, "reschedule", c, false, `status = 1, code = $3, next_attempt = $4`, code, next)
}

// Park implements flows.Outbox.
func (s *Store) Park(ctx context.Context, c flows.OutboxClaim, code string) error {
	return s.settle(ctx, "park", c, true, `status = 3, code = $3`, code)
}

// ListOutbox implements flows.Outbox.
func (s *Store) ListOutbox(ctx context.Context, after int64, max int) ([]flows.OutboxEntry, error) {
	var limit *int
	if max > 0 {
		limit = &max
	}
	rows, err := s.pool.Query(ctx, `SELECT `+entryColumns+` FROM outbox WHERE status IN (1, 2, 3) AND id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, formatError("list outbox", err)
	}
	out, err := pgx.CollectRows(rows, scanEntry)
	if err != nil {
		return nil, formatError("list outbox", err)
	}
	return store.Entries(out), nil
}

// RetryParked implements flows.Outbox.
func (s *Store) RetryParked(ctx context.Context, id int64, now time.Time) error {
	b := &pgx.Batch{} // one transaction, under its queue's lock: it opens a write
	b.Queue(lockQueueOf, id)
	b.Queue(`UPDATE outbox SET status = 1, next_attempt = CASE WHEN EXISTS (
			SELECT 1 FROM outbox p WHERE p.engagement = outbox.engagement AND p.status IN (1, 2) AND p.id < outbox.id)
		THEN `+behind+` ELSE $2 END
		WHERE id = $1 AND status = 3`, id, now).Exec(func(tag pgconn.CommandTag) error {
		if tag.RowsAffected() == 0 {
			return flows.ErrNotFound
		}
		return nil
	})
	return formatError("retry parked", s.pool.SendBatch(ctx, b).Close()) // passes ErrNotFound
}

// DiscardParked implements flows.Outbox. A parked write is not open: its queue does not change.
func (s *Store) DiscardParked(ctx context.Context, id int64) error {
	return s.parked(ctx, "discard parked", `DELETE FROM outbox WHERE id = $1 AND status = 3`, id)
}

func (s *Store) parked(ctx context.Context, op, sql string, args ...any) error {
	tag, err := s.pool.Exec(ctx, sql, args...)
	if err != nil {
		return formatError(op, err)
	}
	if tag.RowsAffected() == 0 {
		return flows.ErrNotFound
	}
	return nil
}

// AuditByEngagement implements flows.AuditLog.
func (s *Store) AuditByEngagement(ctx context.Context, engagement string) ([]flows.AuditEvent, error) {
	return s.audit(ctx, `engagement = $1`, engagement)
}

// AuditByPerson implements flows.AuditLog.
func (s *Store) AuditByPerson(ctx context.Context, person string) ([]flows.AuditEvent, error) {
	return s.audit(ctx, `person = $1 AND person <> ''`, person)
}

func (s *Store) audit(ctx context.Context, where string, arg string) ([]flows.AuditEvent, error) {
	rows, err := s.pool.Query(ctx, `SELECT at, session_key, engagement, actor, step, from_state, to_state, outcome, person, rule, failures
		FROM audit WHERE `+where+` ORDER BY id`, arg)
	if err != nil {
		return nil, formatError("audit", err)
	}
	out, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (flows.AuditEvent, error) {
		var e flows.AuditEvent
		var from, to, outcome int16
		err := row.Scan(&e.At, &e.SessionKey, &e.Engagement, &e.Actor, &e.Step, &from, &to, &outcome, &e.Person, &e.Rule, &e.Failures)
		e.From, e.To, e.Outcome = flows.State(from), flows.State(to), flows.Outcome(outcome)
		return e, err
	})
	if err != nil {
		return nil, formatError("audit", err)
	}
	return out, nil
}

// Sweep implements store.Store.
func (s *Store) Sweep(ctx context.Context, now time.Time, r store.Retention) (store.Swept, error) {
	var sw store.Swept
	steps := store.SweepSteps(&sw, now, r, `$1`)
	for _, st := range steps {
		tag, err := s.pool.Exec(ctx, st.SQL, st.Before)
		if err != nil {
			return sw, formatError("sweep", err)
		}
		*st.Count += tag.RowsAffected()
	}
	return sw, nil
}
