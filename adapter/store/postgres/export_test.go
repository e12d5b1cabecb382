package postgres

import "github.com/jackc/pgx/v5/pgxpool"

// Pool lets the tests write rows the store would not write (a damaged payload).
func (s *Store) Pool() *pgxpool.Pool { return s.pool }
