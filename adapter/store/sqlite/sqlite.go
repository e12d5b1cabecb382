// Package sqlite is idverify's embedded store on SQLite (modernc.org/sqlite: pure Go, no cgo),
// for one instance: sessions, failures, verified marks, the outbox and the audit in one file.
//
// The database runs in WAL mode with a busy timeout. Every write goes through ONE connection,
// in a transaction that starts IMMEDIATE (it takes SQLite's write lock at once), so writes are
// serialised, a Commit's guard holds until it commits, and no deferred transaction ever has to
// upgrade its lock and fail. A committer goroutine runs them, those waiting together in one
// transaction (group commit): step Commits, the outbox's claims and settlements and every other
// write. Reads go through a pool of read-only connections, which WAL lets run beside the
// writer. A second process (or handle) on the same file waits for the write lock up to the
// busy timeout.
//
//	st, err := sqlite.Open(ctx, "idverify.db")
//	if err != nil { ... }
//	defer st.Close()
//
// Open applies the migrations embedded in the binary (goose).
package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"math"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/idverify/idverify/adapter/store"
	"github.com/idverify/idverify/flows"
)

//go:embed migrations/*.sql
var migrations embed.FS

// BusyTimeout is how long a write waits for another connection's (or process's) write lock.
const BusyTimeout = 10 * time.Second

// Store is the SQLite store. It is safe for concurrent use.
type Store struct {
	w *sql.DB // one connection: every write
	r *sql.DB // read-only connections
	c *sql.DB // one connection: the checkpointer's
	// wrote tells the checkpointer that a transaction has committed (buffered: one is enough);
	// restart asks the committer to start the WAL again (checkpointer).
	wrote   chan struct{}
	restart atomic.Bool
	// wal counts the checkpoints for WALStats.
	wal struct{ checkpoints, checkpointErrors, restarts, restartsBusy, restartErrors atomic.Uint64 }
	// log is where failed checkpoints are told (SetLogger), a line a minute at most of each.
	log                             atomic.Pointer[slog.Logger]
	checkpointFailed, restartFailed failureLog
	// stmts holds the writer's prepared statements of frequent writes, by SQL text: parsing a
	// statement costs about as much as running it.
	stmts map[string]*sql.Stmt
	// writes takes the writes to the committer goroutine, which runs those waiting together
	// in one transaction (group commit); quit stops it and stopped waits for it. writes is
	// unbuffered: a write is handed over only to a committer that takes it, so none is left
	// in a buffer nobody reads once the store has closed.
	writes    chan *writeReq
	quit      chan struct{}
	stopped   sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
	// rstmts holds the frequent reads, prepared on first use: *sql.Stmt by SQL text.
	rstmts sync.Map
}

// The statements of a Commit.
const (
	insertSession = `INSERT INTO sessions (id, data, version, updated_at, expires_at) VALUES (?, ?, 1, ?, ?) ON CONFLICT (id) DO NOTHING`
	updateSession = `UPDATE sessions SET data = ?, version = version + 1, updated_at = ?, expires_at = ? WHERE id = ? AND version = ?`
	countFailures = `SELECT count(*) FROM failures WHERE person = ? AND at > ?`
	insertFailure = `INSERT INTO failures (key, person, at) VALUES (?, ?, ?) ON CONFLICT (key) DO NOTHING`
	upsertMark    = `INSERT INTO marks (engagement, person, role, at, until) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (engagement, person, role) DO UPDATE SET at = excluded.at, until = excluded.until`
	// insertWrite queues a write due at its time, or behind an open write of its engagement.
	insertWrite = `INSERT INTO outbox (key, engagement, queued_at, payload, status, next_attempt)
		SELECT ?1, ?2, ?3, ?4, 1, CASE WHEN EXISTS (SELECT 1 FROM outbox WHERE engagement = ?2 AND status IN (1, 2)) THEN ` + behind + ` ELSE ?3 END
		WHERE true ON CONFLICT (key) DO NOTHING`
	insertAudit = `INSERT INTO audit (at, session_key, engagement, actor, step, from_state, to_state, outcome, person, rule, failures)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`
	savepoint  = `SAVEPOINT c`
	release    = `RELEASE c`
	rollbackTo = `ROLLBACK TO c`
)

// The outbox worker's statements: a claim and its settlements, each conditional on the claim
// still holding.
const (
	// claimOutbox claims the heads of the engagements' queues that are due, those due longest
	// first. It walks the index outbox_due in its order, (next_attempt, id), and stops at the
	// LIMIT: ordered by id instead, SQLite would read every due write, check each is its
	// engagement's head and sort them all, a claim costing O(backlog) on the one writer.
	claimOutbox = `UPDATE outbox SET status = 2, attempts = attempts + 1, next_attempt = ?
	WHERE id IN (
		SELECT o.id FROM outbox o
		WHERE o.status IN (1, 2) AND o.next_attempt <= ?
		  AND NOT EXISTS (SELECT 1 FROM outbox p WHERE p.engagement = o.engagement AND p.status IN (1, 2) AND p.id < o.id)
		ORDER BY o.next_attempt, o.id LIMIT ?)
	RETURNING ` + entryColumns
	settleDelivered  = `UPDATE outbox SET status = 4, delivered_at = ?, next_attempt = ? WHERE id = ? AND status = 2 AND attempts = ?`
	settleReschedule = `UPDATE outbox SET status = 1, code = ?, next_attempt = ? WHERE id = ? AND status = 2 AND attempts = ?`
	settlePark       = `UPDATE outbox SET status = 3, code = ? WHERE id = ? AND status = 2 AND attempts = ?`
	// promoteNext makes the oldest open write of the engagement of the write id (which has
	// just been delivered or parked) due at its queued time, if it waited behind.
	promoteNext = `UPDATE outbox SET next_attempt = queued_at
		WHERE id = (SELECT min(id) FROM outbox WHERE engagement = (SELECT engagement FROM outbox WHERE id = ?) AND status IN (1, 2))
		  AND next_attempt = ` + behind
)

// behind is the next_attempt of a write queued behind an open (pending or claimed) write of
// its engagement: it cannot go before that one is delivered or parked, which makes the next
// write due at its queued time (promoteNext), so each engagement's oldest open write has a
// real next_attempt. The writes behind so sit at the far end of the index outbox_due, where
// no claim walks: were they due, a claim would step over every write queued behind a queue's
// head waiting out its backoff (a webhook subscriber down, whose events are one queue), on the
// one writer, at every claim. A parked write an operator retries goes behind too, unless it is
// its engagement's oldest open write, when the queue's head it goes before keeps its real time
// (the claim's NOT EXISTS keeps the order); so do the writes behind in a database of an earlier
// version, which are only slower to claim past. ListOutbox shows the queued time instead. An
// earlier version does not promote: before going back to one, make them due again
// (UPDATE outbox SET next_attempt = queued_at WHERE next_attempt = 9223372036854775807).
const behind = "9223372036854775807" // math.MaxInt64

// maxGroup bounds how many writes share one transaction.
const maxGroup = 64

// writeReq is a write waiting for the committer: fn writes it in the group's transaction, op
// names it in errors, and done receives its outcome.
type writeReq struct {
	ctx  context.Context
	op   string
	fn   func(ctx context.Context, tx *writeTx) error
	done chan error
}

// errClosed is what a Commit on a closed store returns.
var errClosed = errors.New("sqlite: the store is closed")

var _ store.Store = (*Store)(nil)

// Open opens (creating it if need be) the database file at path, migrates it and returns the
// store.
func Open(ctx context.Context, path string) (*Store, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return nil, errors.New("sqlite: the path must be a file name without ? or #")
	}
	pragmas := "?_pragma=busy_timeout(" + strconv.Itoa(int(BusyTimeout/time.Millisecond)) + ")" +
		"&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
	// temp_store(MEMORY): each Commit of a group runs in a savepoint, whose sub-journal (the
	// pages' earlier contents, for ROLLBACK TO) SQLite otherwise spills to a temporary file,
	// opened, written and closed per transaction: a fifth of a Commit's CPU in system calls.
	// The sub-journal only serves rollbacks inside a transaction; crash recovery is the WAL's.
	// wal_autocheckpoint(0): the checkpointer goroutine copies the WAL into the database, not
	// the COMMIT that crosses SQLite's 1,000-page mark, which ran the checkpoint on the one
	// writer connection (two fsyncs and the pages' copy, several ms, every 25 ms at 5,000 HTTP
	// steps a second) while every write queued behind it. A PASSIVE checkpoint on a connection
	// of its own runs beside the writer and the readers
	// (https://www.sqlite.org/wal.html#application_initiated_checkpoints). Durability is
	// unchanged: a commit is in the WAL either way.
	w, err := sql.Open("sqlite", path+pragmas+"&_pragma=temp_store(MEMORY)&_pragma=wal_autocheckpoint(0)&_pragma=journal_size_limit("+strconv.Itoa(walSizeLimit)+")&_txlock=immediate")
	if err != nil {
		return nil, formatError("open", err)
	}
	w.SetMaxOpenConns(1)
	w.SetConnMaxIdleTime(0)
	s := &Store{w: w}
	if err := s.migrate(ctx); err != nil {
		w.Close()
		return nil, err
	}
	s.stmts = map[string]*sql.Stmt{}
	for _, q := range []string{insertSession, updateSession, countFailures, insertFailure, upsertMark, insertWrite, insertAudit,
		savepoint, release, rollbackTo, claimOutbox, settleDelivered, settleReschedule, settlePark, promoteNext,
		beginIdempotent, finishIdempotent, releaseIdempotent} {
		st, err := w.PrepareContext(ctx, q)
		if err != nil {
			w.Close()
			return nil, formatError("prepare", err)
		}
		s.stmts[q] = st
	}
	if s.r, err = sql.Open("sqlite", path+pragmas+"&_pragma=query_only(ON)"); err != nil {
		w.Close()
		return nil, formatError("open", err)
	}
	s.r.SetMaxOpenConns(max(4, runtime.GOMAXPROCS(0)))
	if s.c, err = sql.Open("sqlite", path+pragmas); err != nil {
		s.r.Close()
		w.Close()
		return nil, formatError("open", err)
	}
	s.c.SetMaxOpenConns(1)
	s.writes, s.quit, s.wrote = make(chan *writeReq), make(chan struct{}), make(chan struct{}, 1)
	s.stopped.Add(2)
	go s.committer()
	go s.checkpointer()
	return s, nil
}

// checkpointEvery is the least time between two checkpoints: the WAL holds about what was
// committed in that long.
var checkpointEvery = 100 * time.Millisecond

// walRestartFrames is the WAL's length, in frames (pages), past which a checkpoint makes the
// next write start the WAL again from its beginning (64 MB of 4 KB pages; at 5,000 HTTP steps
// a second, 26,000 frames a second, about every 0.7 s). Each start costs the writer a pause
// (see checkpointer): at 4,096 frames they came six times a second, and with them most of the
// writer's system calls of over 1 ms (41 of 52 in a 5 s trace, fsyncs).
var walRestartFrames = 16384

// walSizeLimit is what the WAL file is cut back to when it starts again (journal_size_limit),
// in bytes: twice walRestartFrames' length, room for what is written between the checkpoint
// that passes the mark and the RESTART, so that under a steady load the file is neither cut
// nor grown again at each start (its blocks allocated anew, on the writer's path).
var walSizeLimit = 128 << 20

// restartTail is how many new frames the last PASSIVE checkpoint before a RESTART may find:
// few enough that it ran briefly, so that the RESTART, which holds every write while it
// copies what was written since and syncs, has little to copy and sync.
var restartTail = 256

// checkpointer copies committed pages from the WAL into the database after transactions
// commit, at most once every checkpointEvery, until the store closes. A checkpoint that could
// not finish (another process checkpointing, a reader on an old snapshot) is tried again after
// the next commit.
//
// A PASSIVE checkpoint copies beside the writer, but the writer starts the WAL again from its
// beginning only after a checkpoint that left nothing behind, which under a steady stream of
// writes never happens: the WAL grew by 2.8 GB in 192,000 Commits. So once it is past
// walRestartFrames the committer runs a RESTART checkpoint on the writer between two
// transactions (from another connection it waits for a gap between them, which a busy
// committer does not leave: the WAL still reached 124 MB): it copies what the PASSIVE ones
// left (what was written while they ran), syncs, and the next write starts the WAL again.
// Before asking for it the checkpointer catches up: it runs PASSIVE checkpoints one after
// another until one finds at most restartTail new frames. A RESTART right after a 20 ms
// PASSIVE had 500 frames to copy and two fsyncs of them, 6 to 24 ms in which no write ran.
func (s *Store) checkpointer() {
	defer s.stopped.Done()
	pause := time.NewTimer(0)
	defer pause.Stop()
	checkpoint := func() (frames int, err error) {
		var busy, copied int
		err = s.c.QueryRowContext(context.Background(), "PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &copied)
		s.wal.checkpoints.Add(1)
		if err != nil {
			s.wal.checkpointErrors.Add(1)
			s.checkpointFailed.failed(s.log.Load(), time.Now(), "sqlite: a checkpoint failed: the WAL grows with every write until one succeeds", formatError("checkpoint", err))
		}
		return frames, err
	}
	for {
		select {
		case <-s.wrote:
		case <-s.quit:
			return
		}
		frames, err := catchUp(checkpoint)
		// A PASSIVE checkpoint that fails (its connection lost, an I/O error) leaves the
		// checkpoint to the committer's RESTART: the writer's own is off (wal_autocheckpoint(0)),
		// so nothing else would copy the WAL, which would grow with every Commit.
		if err != nil || frames > walRestartFrames {
			s.restart.Store(true)
		}
		pause.Reset(checkpointEvery)
		select {
		case <-pause.C:
		case <-s.quit:
			return
		}
	}
}

// catchUp runs a PASSIVE checkpoint and, while the WAL is past walRestartFrames, more of
// them one after another until one finds at most restartTail frames more than the last (it
// copied what was written while the last ran, briefly), or catchUps have run. It returns the
// WAL's length the last one found, and the first error.
func catchUp(checkpoint func() (frames int, err error)) (int, error) {
	frames, err := checkpoint()
	for tries := 0; err == nil && frames > walRestartFrames && tries < catchUps; tries++ {
		last := frames
		if frames, err = checkpoint(); frames-last <= restartTail {
			break
		}
	}
	return frames, err
}

// catchUps bounds the PASSIVE checkpoints run one after another before a RESTART: writes
// faster than they copy would otherwise keep the checkpointer at it for ever.
const catchUps = 4

func (s *Store) migrate(ctx context.Context) error {
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return err
	}
	p, err := goose.NewProvider(goose.DialectSQLite3, s.w, sub)
	if err != nil {
		return fmt.Errorf("sqlite: migrations: %w", err)
	}
	// goose reads the applied versions before a migration's (IMMEDIATE) transaction takes the
	// write lock, and SQLite has no session lock for it (PostgreSQL has one): a process opening
	// a new file at the same time as another may find a table the other just created. Its next
	// Up reads the versions the other committed and has nothing left to apply.
	for attempt := 1; ; attempt++ {
		_, err = p.Up(ctx)
		if err == nil || attempt == migrateAttempts || ctx.Err() != nil {
			return formatError("migrate", err)
		}
	}
}

// migrateAttempts bounds the Ups of one Open: each failed one follows another process's
// committed migration, of which there are few.
const migrateAttempts = 5

// Close closes the database. Writes still running finish first; later ones fail. Closing
// again does nothing and returns the first Close's error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.quit)
		s.stopped.Wait()
		for _, st := range s.stmts {
			st.Close()
		}
		s.rstmts.Range(func(_, st any) bool { st.(*sql.Stmt).Close(); return true })
		s.closeErr = errors.Join(s.c.Close(), s.r.Close(), s.w.Close())
	})
	return s.closeErr
}

// formatError turns a driver error into the store's: the one place where SQLite's errors
// become flows kinds. The flows sentinels the store returns itself pass through.
func formatError(op string, err error) error {
	if err == nil {
		return nil
	}
	if store.Passes(err) {
		return err
	}
	e := &store.Error{Driver: "sqlite", Op: op, Kind: flows.ErrUnavailable, Err: err}
	var se *sqlite.Error
	if errors.As(err, &se) {
		code := se.Code()
		e.Code = sqlite.ErrorCodeString[code]
		if code == sqlite3.SQLITE_CONSTRAINT_UNIQUE || code == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY {
			e.Kind = flows.ErrVersionConflict // someone else created the row first
		}
	}
	return e
}

// us is t as stored: unix microseconds.
func us(t time.Time) int64 { return t.UnixMicro() }

// at is a stored time.
func at(v int64) time.Time { return time.UnixMicro(v).UTC() }

// transaction runs fn in an IMMEDIATE transaction on the writer.
func (s *Store) transaction(ctx context.Context, fn func(tx *writeTx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(&writeTx{s: s, tx: tx}); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return err
	}
	select {
	case s.wrote <- struct{}{}:
	default: // the checkpointer has been told already
	}
	return nil
}

// writeTx is a transaction on the writer with the prepared statements bound to it as it uses
// them: each once per transaction, not once per use (tx.StmtContext allocates a statement and
// registers it with the transaction each time), however many writes the group holds.
type writeTx struct {
	s     *Store
	tx    *sql.Tx
	bound map[string]*sql.Stmt
}

// stmt returns query, prepared on the writer when the store opened, bound to the transaction.
// (It cannot be prepared now: the transaction holds the writer's only connection.)
func (w *writeTx) stmt(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := w.bound[query]; ok {
		return st, nil
	}
	st, ok := w.s.stmts[query]
	if !ok {
		return nil, fmt.Errorf("sqlite: statement not prepared: %.40s", query)
	}
	if w.bound == nil {
		w.bound = make(map[string]*sql.Stmt, 8)
	}
	w.bound[query] = w.tx.StmtContext(ctx, st)
	return w.bound[query], nil
}

// exec runs query in the transaction as a prepared statement.
func (w *writeTx) exec(ctx context.Context, query string, args ...any) (sql.Result, error) {
	st, err := w.stmt(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// prepared returns query prepared on the readers, from cache: database/sql prepares it again on
// each reader connection as it needs.
func (s *Store) prepared(ctx context.Context, query string) (*sql.Stmt, error) {
	if st, ok := s.rstmts.Load(query); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := s.r.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	if prev, loaded := s.rstmts.LoadOrStore(query, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

// query runs query, prepared once, on the readers.
func (s *Store) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	st, err := s.prepared(ctx, query)
	if err != nil {
		return nil, err
	}
	return st.QueryContext(ctx, args...)
}

// keyRead returns the context for a read by key on an index, which takes microseconds: ctx's
// values without its cancellation, once ctx is checked. Given a context that can end,
// database/sql and the driver each start a goroutine per query to watch it (the driver's
// interrupts SQLite), two goroutines per read on a step's path for a read that is over before
// either could act. A wait for a reader connection or for a lock is still bounded, by
// BusyTimeout and by the reads ahead of it.
func keyRead(ctx context.Context) (context.Context, error) {
	if ctx.Done() == nil {
		return ctx, nil // cannot end: nothing watches it
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return context.WithoutCancel(ctx), nil
}

// Get implements flows.SessionStore.
func (s *Store) Get(ctx context.Context, id string) ([]byte, uint64, error) {
	var data []byte
	var version int64
	ctx, err := keyRead(ctx)
	var st *sql.Stmt
	if err == nil {
		st, err = s.prepared(ctx, `SELECT data, version FROM sessions WHERE id = ?`)
	}
	if err == nil {
		err = st.QueryRowContext(ctx, id).Scan(&data, &version)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return nil, 0, flows.ErrNotFound
	}
	if err != nil {
		return nil, 0, formatError("get", err)
	}
	return data, uint64(version), nil
}

// Commit implements flows.SessionStore, as a write (see write): the session's version and the
// guard are checked in the transaction that holds its writes.
func (s *Store) Commit(ctx context.Context, c flows.Commit) (uint64, error) {
	if err := s.write(ctx, "commit", func(ctx context.Context, tx *writeTx) error { return s.commit(ctx, tx, c) }); err != nil {
		return 0, err
	}
	return c.Version + 1, nil
}

// write runs fn on the writer and returns its error, formatted for op. Writes are serialised
// on the one writer connection; those that arrive while a transaction runs are run together
// in the next one (group commit), each in a savepoint of its own: one that fails is rolled
// back alone, and the others' writes reach the WAL in one transaction, which costs about what
// one write's did. write returns only once the transaction holding fn's writes has
// committed, as durable as before: the group shares the WAL append, not a promise. A write
// whose context has ended when its turn comes fails and changes nothing; once started, it runs
// to its end: fn's ctx cannot be cancelled (an interrupted statement would roll back the whole
// transaction, the group's other writes with it). fn must not call write: the committer runs
// it.
func (s *Store) write(ctx context.Context, op string, fn func(ctx context.Context, tx *writeTx) error) error {
	if err := ctx.Err(); err != nil {
		return formatError(op, err)
	}
	req := &writeReq{ctx: ctx, op: op, fn: fn, done: make(chan error, 1)}
	select {
	case s.writes <- req:
	case <-ctx.Done():
		return formatError(op, ctx.Err())
	case <-s.quit:
		return formatError(op, errClosed)
	}
	return <-req.done // the committer always answers: it may be running it
}

// committer runs the writes sent to it, as many as are waiting at once in one transaction,
// until the store closes.
func (s *Store) committer() {
	defer s.stopped.Done()
	group := make([]*writeReq, 0, maxGroup)
	for {
		select {
		case r := <-s.writes:
			group = append(group[:0], r)
		case <-s.quit:
			return
		}
		// Yield once before gathering the group: goroutines already runnable (agents whose API
		// call has just returned) hand their writes over before the transaction starts rather
		// than after it. It waits for no one (a pass through the scheduler, not a timer), and
		// each write a group shares saves the pages it would have appended to the WAL alone:
		// in the verification benchmark groups grow from 1.6 to 3.7 Commits.
		runtime.Gosched()
		if s.restart.Swap(false) {
			s.restartWAL()
		}
	waiting:
		for len(group) < maxGroup {
			select {
			case r := <-s.writes:
				group = append(group, r)
			default:
				break waiting
			}
		}
		s.writeGroup(group)
	}
}

// restartWAL runs a RESTART checkpoint on the writer, between two transactions, with the
// writer's busy handler off. With it, SQLite's RESTART waits up to BusyTimeout for each reader
// on an old snapshot and then for each reader of the WAL, every write queued behind it: a
// reader held for long (a slow list, an operator's sqlite3 shell, a backup in another process)
// held up the writes 10 s at each attempt, an attempt every checkpointEvery while it read.
// Without it the checkpoint copies what those readers let it and returns; the checkpointer
// asks again after its next pass, and the WAL starts again once they have moved on.
func (s *Store) restartWAL() {
	bg := context.Background()
	s.wal.restarts.Add(1)
	if _, err := s.w.ExecContext(bg, "PRAGMA busy_timeout = 0"); err != nil {
		s.wal.restartErrors.Add(1)
		s.restartFailed.failed(s.log.Load(), time.Now(), "sqlite: a RESTART checkpoint failed: the WAL did not start again", formatError("restart", err))
		return
	}
	// A reader in the way is no error: the pragma answers busy in its row (and -1 frames).
	var busy, frames, copied int
	if err := s.w.QueryRowContext(bg, "PRAGMA wal_checkpoint(RESTART)").Scan(&busy, &frames, &copied); err != nil {
		s.wal.restartErrors.Add(1)
		s.restartFailed.failed(s.log.Load(), time.Now(), "sqlite: a RESTART checkpoint failed: the WAL did not start again", formatError("restart", err))
	} else if busy != 0 {
		s.wal.restartsBusy.Add(1)
	}
	// It cannot fail on an open connection; on a new one (the old one lost) the DSN's holds.
	_, _ = s.w.ExecContext(bg, "PRAGMA busy_timeout = "+strconv.Itoa(int(BusyTimeout/time.Millisecond)))
}

// WALStats counts what the store did to keep its WAL short since it opened. A PASSIVE
// checkpoint or a RESTART that fails (a full disk, an I/O error) leaves the WAL to grow until
// one succeeds; so does a reader that keeps every RESTART busy (an operator's sqlite3 shell
// left in a transaction, a backup in another process). A RESTART is busy now and then under
// load (a read of the store's own in its way), and the next one starts the WAL again: RESTARTs
// all or nearly all busy for long is a held reader. Nothing else tells, so serve exports these
// as metrics.
type WALStats struct {
	Checkpoints      uint64 // PASSIVE checkpoints the checkpointer ran
	CheckpointErrors uint64 // of which failed
	Restarts         uint64 // RESTART checkpoints the committer ran to start the WAL again
	RestartsBusy     uint64 // of which a reader kept from starting it again (no error: tried again)
	RestartErrors    uint64 // of which failed
}

// SetLogger has the store log its checkpoints that fail, which nothing else would tell but
// WALStats: the WAL then grows with every write until one succeeds (a full disk, an I/O
// error). One line a minute at most for each kind, with how many failed unlogged since the
// last; its error names the operation and SQLite's code only.
func (s *Store) SetLogger(l *slog.Logger) { s.log.Store(l) }

// failureLog logs a failure that may repeat every checkpointEvery at most once a
// failureLogEvery.
type failureLog struct {
	mu     sync.Mutex
	last   time.Time // when a line was last logged
	missed int       // failures since then, not logged
}

// failureLogEvery is how often a failureLog logs at most.
const failureLogEvery = time.Minute

func (f *failureLog) failed(l *slog.Logger, now time.Time, msg string, err error) {
	if l == nil {
		return
	}
	f.mu.Lock()
	if !f.last.IsZero() && now.Sub(f.last) < failureLogEvery {
		f.missed++
		f.mu.Unlock()
		return
	}
	missed := f.missed
	f.last, f.missed = now, 0
	f.mu.Unlock()
	l.Error(msg, "err", err, "unlogged_failures_before", missed)
}

// WALStats returns the store's checkpoint counts.
func (s *Store) WALStats() WALStats {
	return WALStats{Checkpoints: s.wal.checkpoints.Load(), CheckpointErrors: s.wal.checkpointErrors.Load(),
		Restarts: s.wal.restarts.Load(), RestartsBusy: s.wal.restartsBusy.Load(), RestartErrors: s.wal.restartErrors.Load()}
}

// writeGroup runs group's writes in one IMMEDIATE transaction, each in a savepoint, and
// answers each. A write alone in its group runs without a savepoint: its failure rolls back
// the transaction, which holds nothing else.
func (s *Store) writeGroup(group []*writeReq) {
	bg := context.Background() // no statement is cancelled midway
	if len(group) == 1 {
		r := group[0]
		if err := r.ctx.Err(); err != nil {
			r.done <- formatError(r.op, err)
			return
		}
		r.done <- formatError(r.op, s.transaction(bg, func(tx *writeTx) error { return r.fn(bg, tx) }))
		return
	}
	errs := make([]error, len(group))
	err := s.transaction(bg, func(g *writeTx) error {
		for i, r := range group {
			if errs[i] = r.ctx.Err(); errs[i] != nil {
				continue
			}
			if _, err := g.exec(bg, savepoint); err != nil {
				return err
			}
			if errs[i] = r.fn(bg, g); errs[i] != nil {
				if _, err := g.exec(bg, rollbackTo); err != nil {
					return err
				}
			}
			if _, err := g.exec(bg, release); err != nil {
				return err
			}
		}
		return nil
	})
	for i, r := range group {
		if err != nil { // nothing of the group was committed
			errs[i] = err
		}
		r.done <- formatError(r.op, errs[i])
	}
}

// commit writes one Commit in tx: the session's version and the guard are checked first.
func (s *Store) commit(ctx context.Context, tx *writeTx, c flows.Commit) error {
	now := us(time.Now())
	var res sql.Result
	var err error
	var expires any // NULL: the session has ended
	if !c.Expires.IsZero() {
		expires = us(c.Expires)
	}
	if c.Version == 0 {
		res, err = tx.exec(ctx, insertSession, c.Session, c.Data, now, expires)
	} else {
		res, err = tx.exec(ctx, updateSession, c.Data, now, expires, c.Session, int64(c.Version))
	}
	if err != nil {
		return err
	}
	if n, err := res.RowsAffected(); err != nil {
		return err
	} else if n == 0 {
		if c.Version == 0 {
			return flows.ErrVersionConflict
		}
		var exists bool
		if err := tx.tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM sessions WHERE id = ?)`, c.Session).Scan(&exists); err != nil {
			return err
		}
		if exists {
			return flows.ErrVersionConflict
		}
		return flows.ErrNotFound
	}
	if g := c.Guard; g.Person != "" {
		var n int
		st, err := tx.stmt(ctx, countFailures)
		if err != nil {
			return err
		}
		if err := st.QueryRowContext(ctx, g.Person, us(g.Since)).Scan(&n); err != nil {
			return err
		}
		if n != g.Failures {
			return flows.ErrFailuresChanged
		}
	}
	return s.insertEffects(ctx, tx, c)
}

func (s *Store) insertEffects(ctx context.Context, tx *writeTx, c flows.Commit) error {
	for _, f := range c.Failures {
		if _, err := tx.exec(ctx, insertFailure, f.Key, f.Person, us(f.At)); err != nil {
			return err
		}
	}
	for _, m := range c.Marks {
		if _, err := tx.exec(ctx, upsertMark, m.Engagement, m.Person, int(m.Role), us(m.At), us(m.Until)); err != nil {
			return err
		}
	}
	for _, w := range c.Outbox {
		payload, err := store.EncodeWrite(w)
		if err != nil {
			return err
		}
		if _, err := tx.exec(ctx, insertWrite, w.Key, w.Engagement, us(w.At), payload); err != nil {
			return err
		}
	}
	for _, a := range c.Audit {
		if _, err := tx.exec(ctx, insertAudit, us(a.At), a.SessionKey, a.Engagement, a.Actor, a.Step,
			int(a.From), int(a.To), int(a.Outcome), a.Person, a.Rule, a.Failures); err != nil {
			return err
		}
	}
	return nil
}

// IdleSessions implements flows.IdleSessions.
func (s *Store) IdleSessions(ctx context.Context, now time.Time, max int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM sessions WHERE expires_at < ? ORDER BY expires_at LIMIT ?`, us(now), max)
	if err != nil {
		return nil, formatError("idle sessions", err)
	}
	ids, err := collect(rows, func(r *sql.Rows) (string, error) { var id string; return id, r.Scan(&id) })
	return ids, formatError("idle sessions", err)
}

// Failures implements flows.SessionStore.
func (s *Store) Failures(ctx context.Context, person string, since time.Time) ([]time.Time, error) {
	ctx, err := keyRead(ctx) // the person's failures in the lockout window: a few index entries
	var rows *sql.Rows
	if err == nil {
		rows, err = s.query(ctx, `SELECT at FROM failures WHERE person = ? AND at > ? ORDER BY at`, person, us(since))
	}
	if err != nil {
		return nil, formatError("failures", err)
	}
	out, err := collect(rows, func(rows *sql.Rows) (time.Time, error) {
		var v int64
		err := rows.Scan(&v)
		return at(v), err
	})
	return out, formatError("failures", err)
}

// collect reads every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(*sql.Rows) (T, error)) ([]T, error) {
	defer rows.Close()
	var out []T
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, rows.Err()
}

// Verified implements flows.SessionStore.
func (s *Store) Verified(ctx context.Context, key flows.VerifiedKey, now time.Time) (flows.VerifiedMark, bool, error) {
	var from, until int64
	ctx, err := keyRead(ctx)
	var st *sql.Stmt
	if err == nil {
		st, err = s.prepared(ctx, `SELECT at, until FROM marks WHERE engagement = ? AND person = ? AND role = ? AND until > ?`)
	}
	if err == nil {
		err = st.QueryRowContext(ctx, key.Engagement, key.Person, int(key.Role), us(now)).Scan(&from, &until)
	}
	if errors.Is(err, sql.ErrNoRows) {
		return flows.VerifiedMark{}, false, nil
	}
	if err != nil {
		return flows.VerifiedMark{}, false, formatError("verified", err)
	}
	return flows.VerifiedMark{VerifiedKey: key, At: at(from), Until: at(until)}, true, nil
}

// VerifiedByEngagement implements flows.SessionStore. The marks' primary key begins with the
// engagement, so this is a range of the key.
func (s *Store) VerifiedByEngagement(ctx context.Context, engagement string, now time.Time) ([]flows.VerifiedMark, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT person, role, at, until FROM marks WHERE engagement = ? AND until > ?
		ORDER BY at, role, person`, engagement, us(now))
	if err != nil {
		return nil, formatError("verified by engagement", err)
	}
	out, err := collect(rows, func(rows *sql.Rows) (flows.VerifiedMark, error) {
		m := flows.VerifiedMark{VerifiedKey: flows.VerifiedKey{Engagement: engagement}}
		var from, until int64
		err := rows.Scan(&m.Person, &m.Role, &from, &until)
		m.At, m.Until = at(from), at(until)
		return m, err
	})
	return out, formatError("verified by engagement", err)
}

// ResetFailures implements flows.SessionStore.
func (s *Store) ResetFailures(ctx context.Context, r flows.Reset) (flows.Reset, error) {
	err := s.write(ctx, "reset failures", func(ctx context.Context, tx *writeTx) error {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM failures WHERE person = ?`, r.Person)
		if err != nil {
			return err
		}
		n, err := res.RowsAffected()
		if err != nil {
			return err
		}
		r.Cleared = int(n)
		_, err = tx.tx.ExecContext(ctx, `INSERT INTO resets (person, actor, reason, at, cleared) VALUES (?, ?, ?, ?, ?)`,
			r.Person, r.Actor, r.Reason, us(r.At), r.Cleared)
		if err != nil {
			return err
		}
		return s.insertEffects(ctx, tx, flows.Commit{Outbox: r.Outbox}) // its events
	})
	if err != nil {
		return flows.Reset{}, err
	}
	return r, nil
}

// Resets implements flows.SessionStore.
func (s *Store) Resets(ctx context.Context, person string) ([]flows.Reset, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT person, actor, reason, at, cleared FROM resets WHERE person = ? ORDER BY id`, person)
	if err != nil {
		return nil, formatError("resets", err)
	}
	out, err := collect(rows, func(rows *sql.Rows) (flows.Reset, error) {
		var r flows.Reset
		var t int64
		err := rows.Scan(&r.Person, &r.Actor, &r.Reason, &t, &r.Cleared)
		r.At = at(t)
		return r, err
	})
	return out, formatError("resets", err)
}

const entryColumns = `id, key, engagement, queued_at, payload, status, attempts, code, next_attempt`

func scanEntry(rows *sql.Rows) (store.StoredEntry, error) {
	var e store.StoredEntry
	var payload []byte
	var queued, next int64
	if err := rows.Scan(&e.ID, &e.Key, &e.Engagement, &queued, &payload, &e.Status, &e.Attempts, &e.Code, &next); err != nil {
		return e, err
	}
	e.At, e.NextAttempt = at(queued), at(next)
	if next == math.MaxInt64 { // behind
		e.NextAttempt = e.At
	}
	e.Decode(payload)
	return e, nil
}

// ClaimOutbox implements flows.Outbox in one statement, a write (see write). A claimed write
// whose payload cannot be read is parked (store.CodeUnreadable), not returned.
func (s *Store) ClaimOutbox(ctx context.Context, now time.Time, lease time.Duration, max int) ([]flows.OutboxEntry, error) {
	var claimed []store.StoredEntry
	err := s.write(ctx, "claim outbox", func(ctx context.Context, tx *writeTx) error {
		st, err := tx.stmt(ctx, claimOutbox)
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, us(now.Add(lease)), us(now), max)
		if err != nil {
			return err
		}
		claimed, err = collect(rows, scanEntry)
		return err
	})
	if err != nil {
		return nil, err
	}
	slices.SortFunc(claimed, func(a, b store.StoredEntry) int { return cmp.Compare(a.ID, b.ID) }) // oldest first
	return store.Readable(ctx, claimed, s.Park), nil
}

// settle runs query, an update of the write c claims conditional on the claim still holding,
// with args and then c's id and attempt; when the write leaves its engagement's queue
// (delivered, parked), the next write of the queue becomes due.
func (s *Store) settle(ctx context.Context, op string, c flows.OutboxClaim, query string, args ...any) error {
	return s.write(ctx, op, func(ctx context.Context, tx *writeTx) error {
		res, err := tx.exec(ctx, query, append(args, c.ID, c.Attempt)...)
		if err := changed(res, err, flows.ErrClaimLost); err != nil || query == settleReschedule {
			return err
		}
		_, err = tx.exec(ctx, promoteNext, c.ID)
		return err
	})
}

// changed returns err, or none when the statement changed no row.
func changed(res sql.Result, err, none error) error {
	if err != nil {
		return err
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return none
	}
	return nil
}

// Delivered implements flows.Outbox.
func (s *Store) Delivered(ctx context.Context, c flows.OutboxClaim, now time.Time) error {
	return s.settle(ctx, "delivered", c, settleDelivered, us(now), us(now))
}

// Reschedule implements flows.Outbox.
func (s *Store) Reschedule(ctx context.Context, c flows.OutboxClaim, code string, next time.Time) error {
	return s.settle(ctx, "reschedule", c, settleReschedule, code, us(next))
}

// Park implements flows.Outbox.
func (s *Store) Park(ctx context.Context, c flows.OutboxClaim, code string) error {
	return s.settle(ctx, "park", c, settlePark, code)
}

// listOutbox lists the writes not delivered, by the partial index outbox_undelivered.
const listOutbox = `SELECT ` + entryColumns + ` FROM outbox WHERE status IN (1, 2, 3) AND id > ? ORDER BY id LIMIT ?`

// ListOutbox implements flows.Outbox.
func (s *Store) ListOutbox(ctx context.Context, after int64, max int) ([]flows.OutboxEntry, error) {
	if max <= 0 {
		max = -1 // no limit
	}
	rows, err := s.r.QueryContext(ctx, listOutbox, after, max)
	if err != nil {
		return nil, formatError("list outbox", err)
	}
	out, err := collect(rows, scanEntry)
	if err != nil {
		return nil, formatError("list outbox", err)
	}
	return store.Entries(out), nil
}

// RetryParked implements flows.Outbox.
func (s *Store) RetryParked(ctx context.Context, id int64, now time.Time) error {
	return s.write(ctx, "retry parked", func(ctx context.Context, tx *writeTx) error {
		res, err := tx.tx.ExecContext(ctx, `UPDATE outbox SET status = 1, next_attempt = CASE WHEN EXISTS (
				SELECT 1 FROM outbox p WHERE p.engagement = outbox.engagement AND p.status IN (1, 2) AND p.id < outbox.id)
			THEN `+behind+` ELSE ? END
			WHERE id = ? AND status = 3`, us(now), id)
		return changed(res, err, flows.ErrNotFound)
	})
}

// DiscardParked implements flows.Outbox.
func (s *Store) DiscardParked(ctx context.Context, id int64) error {
	return s.write(ctx, "discard parked", func(ctx context.Context, tx *writeTx) error {
		res, err := tx.tx.ExecContext(ctx, `DELETE FROM outbox WHERE id = ? AND status = 3`, id)
		return changed(res, err, flows.ErrNotFound)
	})
}

// AuditByEngagement implements flows.AuditLog.
func (s *Store) AuditByEngagement(ctx context.Context, engagement string) ([]flows.AuditEvent, error) {
	return s.audit(ctx, `engagement = ?`, engagement)
}

// AuditByPerson implements flows.AuditLog.
func (s *Store) AuditByPerson(ctx context.Context, person string) ([]flows.AuditEvent, error) {
	return s.audit(ctx, `person = ? AND person <> ''`, person)
}

func (s *Store) audit(ctx context.Context, where, arg string) ([]flows.AuditEvent, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT at, session_key, engagement, actor, step, from_state, to_state, outcome, person, rule, failures
		FROM audit WHERE `+where+` ORDER BY id`, arg)
	if err != nil {
		return nil, formatError("audit", err)
	}
	out, err := collect(rows, func(rows *sql.Rows) (flows.AuditEvent, error) {
		var e flows.AuditEvent
		var t int64
		err := rows.Scan(&t, &e.SessionKey, &e.Engagement, &e.Actor, &e.Step, &e.From, &e.To, &e.Outcome, &e.Person, &e.Rule, &e.Failures)
		e.At = at(t)
		return e, err
	})
	return out, formatError("audit", err)
}

// sweepBatch bounds the rows one write of a sweep deletes.
var sweepBatch = 1000

// Sweep implements store.Store, each statement a batch of sweepBatch rows at a time, each
// batch a write of its own: as one write, a sweep of a large backlog (the first after a
// retention is set, or after days down) held the one writer for as long as it deleted, every
// step's Commit queued behind it, and could not be stopped by ctx once started. Between
// batches the Commits go, and ctx is checked.
func (s *Store) Sweep(ctx context.Context, now time.Time, r store.Retention) (store.Swept, error) {
	var sw store.Swept
	for _, st := range store.SweepSteps(&sw, now, r, `?`) {
		query, err := sweepBatchSQL(st.SQL)
		if err != nil {
			return sw, err
		}
		for {
			var n int64
			err := s.write(ctx, "sweep", func(ctx context.Context, tx *writeTx) error {
				res, err := tx.tx.ExecContext(ctx, query, us(st.Before), sweepBatch)
				if err != nil {
					return err
				}
				n, err = res.RowsAffected()
				return err
			})
			if err != nil {
				return sw, err
			}
			*st.Count += n
			if n < int64(sweepBatch) {
				break
			}
		}
	}
	return sw, nil
}

// sweepBatchSQL turns a sweep's statement, DELETE FROM table WHERE condition, into one that
// deletes a batch of its rows (a LIMIT as its last parameter).
func sweepBatchSQL(query string) (string, error) {
	table, cond, ok := strings.Cut(strings.TrimPrefix(query, "DELETE FROM "), " WHERE ")
	if !ok || strings.ContainsAny(table, " ()") {
		return "", fmt.Errorf("sqlite: a sweep statement not of the form DELETE FROM table WHERE condition: %.40s", query)
	}
	return "DELETE FROM " + table + " WHERE rowid IN (SELECT rowid FROM " + table + " WHERE " + cond + " LIMIT ?)", nil
}
