package orgdb

import (
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// The benchmarks share generated orgs of n person accounts (each with its person contact, so n
// contacts), built once per size.
var (
	orgsMu sync.Mutex
	orgs   = map[int]*DB{}
)

func generatedOrg(b *testing.B, n int) *DB {
	b.Helper()
	orgsMu.Lock()
	defer orgsMu.Unlock()
	if db := orgs[n]; db != nil {
		return db
	}
	db, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	if err := SeedGenerated(db, n, 1); err != nil {
		b.Fatal(err)
	}
	// One person whose name no generated person shares, for the shapes that find one record.
	tx := db.Begin(true)
	_, e := tx.Create("Account", map[string]any{"FirstName": "Zofia", "LastName": "Wiśniewska", "PersonEmail": "zofia@example.org"})
	tx.Commit()
	if e != nil {
		b.Fatal(e)
	}
	orgs[n] = db
	return db
}

func bigOrg(b *testing.B) *DB { return generatedOrg(b, 100_000) }

// BenchmarkSeedGenerated100k loads 100,000 person accounts (200,000 records with their person
// contacts) and reports the heap they hold after a GC.
func BenchmarkSeedGenerated100k(b *testing.B) {
	var heap float64
	cpu0, cpuOK := processCPU()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		db, err := New(Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := SeedGenerated(db, 100_000, 1); err != nil {
			b.Fatal(err)
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		heap = float64(after.HeapAlloc-before.HeapAlloc) / (1 << 20)
		runtime.KeepAlive(db)
	}
	b.ReportMetric(heap, "heap-MB")
	if cpu1, ok := processCPU(); ok && cpuOK {
		b.ReportMetric((cpu1-cpu0).Seconds()/float64(b.N), "cpu-s/op")
	}
}

func benchQuery(b *testing.B, q string, want int) {
	db := bigOrg(b)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		tx := db.Begin(false)
		res, e := tx.Query(q, false)
		tx.Commit()
		if e != nil {
			b.Fatal(e)
		}
		if want >= 0 && res.TotalSize != want {
			b.Fatalf("%s: %d rows, want %d", q, res.TotalSize, want)
		}
	}
}

func BenchmarkQueryByMobilePhone(b *testing.B) {
	benchQuery(b, "SELECT Id, Name, Birthdate, MailingPostalCode, Account.Name FROM Contact WHERE MobilePhone = '"+GeneratedPhone(4242, 1)+"'", 1)
}

func BenchmarkQueryByPhoneAnyField(b *testing.B) {
	p := GeneratedPhone(4242, 1)
	benchQuery(b, "SELECT Id, Name FROM Contact WHERE MobilePhone = '"+p+"' OR Phone = '"+p+"' OR HomePhone = '"+p+"'", -1)
}

func BenchmarkQueryByID(b *testing.B) {
	db := bigOrg(b)
	tx := db.Begin(false)
	res, e := tx.Query("SELECT Id FROM Account WHERE AccountNumber = 'GEN-0004242'", false)
	tx.Commit()
	if e != nil || res.TotalSize != 1 {
		b.Fatal(e)
	}
	benchQuery(b, "SELECT Id, Name, PersonBirthdate, (SELECT Id FROM Contacts) FROM Account WHERE Id = '"+res.Records[0].ID+"'", 1)
}

func BenchmarkQueryByName(b *testing.B) {
	benchQuery(b, "SELECT Id FROM Contact WHERE Name = 'Nobody Here'", 0)
}

func BenchmarkQueryFullScan(b *testing.B) {
	benchQuery(b, "SELECT Id FROM Contact WHERE MailingPostalCode LIKE '0424%' LIMIT 10", -1)
}

func BenchmarkQueryCount(b *testing.B) {
	benchQuery(b, "SELECT COUNT() FROM Contact", 100_001) // the generated people and Zofia
}

func BenchmarkSearchPhone(b *testing.B) {
	db := bigOrg(b)
	q := "FIND {" + GeneratedPhone(4242, 1)[2:] + "} IN PHONE FIELDS RETURNING Account(Id, Name), Contact(Id, Name)"
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		tx := db.Begin(false)
		recs, e := tx.Search(q)
		tx.Commit()
		if e != nil || len(recs) != 2 {
			b.Fatal(e, len(recs))
		}
	}
}

func BenchmarkSearchName(b *testing.B) {
	db := bigOrg(b)
	b.ReportAllocs()
	b.ResetTimer()
	defer reportCPU(b)()
	for b.Loop() {
		tx := db.Begin(false)
		_, e := tx.Search("FIND {Kowalski} IN NAME FIELDS RETURNING Contact(Id, Name LIMIT 10)")
		tx.Commit()
		if e != nil {
			b.Fatal(e)
		}
	}
}

func BenchmarkCreateContact(b *testing.B) {
	db, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		tx := db.Begin(true)
		_, e := tx.Create("Contact", map[string]any{"FirstName": "Ann", "LastName": "Able", "MobilePhone": "+14155550001", "Birthdate": "1980-01-02"})
		tx.Commit()
		if e != nil {
			b.Fatal(e)
		}
	}
}

// reportCPU starts measuring the process's CPU time; the function it returns reports it per
// operation (where it can be measured).
func reportCPU(b *testing.B) func() {
	cpu0, ok0 := processCPU()
	return func() {
		if cpu1, ok := processCPU(); ok && ok0 {
			b.ReportMetric(float64((cpu1-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
		}
	}
}

// BenchmarkShapes measures each query shape issue 8 names at 10,000, 100,000 and 300,000
// generated people, to show which cost stays flat (indexed) and which grows with the org:
//
//	go test -run '^$' -bench Shapes -benchtime 2s ./mocks/fakeorg/orgdb
func BenchmarkShapes(b *testing.B) {
	shapes := []struct {
		name  string
		query func(db *DB) string // SOQL, or SOSL when it starts with FIND
		min   int                 // at least this many rows, as a check that it does match
	}{
		{"Email=", func(db *DB) string {
			return "SELECT Id, Name FROM Contact WHERE Email = '" + generatedEmail(b, db, 4242) + "'"
		}, 1},
		{"Name-LIKE-prefix-1-match", func(*DB) string { return "SELECT Id, Name FROM Account WHERE Name LIKE 'Zofia Wi%'" }, 1},
		{"Name-LIKE-prefix-n/900-matches", func(*DB) string { return "SELECT Id, Name FROM Account WHERE Name LIKE 'Sven Kowal%'" }, 1},
		{"Name-LIKE-no-match", func(*DB) string { return "SELECT Id FROM Account WHERE Name LIKE 'Kowal%'" }, 0},
		{"MobilePhone=", func(*DB) string {
			return "SELECT Id, Name FROM Contact WHERE MobilePhone = '" + GeneratedPhone(4242, 1) + "'"
		}, 1},
		{"SOSL-full-name-1-match", func(*DB) string {
			return "FIND {Zofia Wiśniewska} RETURNING Account(Id, Name), Contact(Id, Name)"
		}, 2},
		{"SOSL-full-name-n/900-matches", func(*DB) string {
			return "FIND {Sven Kowalski} RETURNING Account(Id, Name), Contact(Id, Name)"
		}, 1},
		{"SOSL-full-name-in-name-fields", func(*DB) string {
			return "FIND {Sven Kowalski} IN NAME FIELDS RETURNING Contact(Id, Name LIMIT 10)"
		}, 1},
		{"SOSL-prefix", func(*DB) string { return "FIND {Kowals*} IN NAME FIELDS RETURNING Contact(Id, Name LIMIT 10)" }, 1},
		{"ORDER-BY-LastName-LIMIT-10", func(*DB) string { return "SELECT Id, Name FROM Contact ORDER BY LastName LIMIT 10" }, 10},
		{"ORDER-BY-2-keys-LIMIT-10", func(*DB) string {
			return "SELECT Id FROM Contact ORDER BY LastName DESC, Birthdate LIMIT 10"
		}, 10},
		{"full-scan-LIKE-LIMIT-10", func(*DB) string {
			return "SELECT Id FROM Contact WHERE MailingPostalCode LIKE '0424%' LIMIT 10"
		}, 0},
	}
	for _, sh := range shapes {
		b.Run(sh.name, func(b *testing.B) {
			for _, n := range []int{10_000, 100_000, 300_000} {
				b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
					db := generatedOrg(b, n)
					q := sh.query(db)
					run := func() int {
						tx := db.Begin(false)
						defer tx.Commit()
						if strings.HasPrefix(q, "FIND") {
							recs, e := tx.Search(q)
							if e != nil {
								b.Fatal(e)
							}
							return len(recs)
						}
						res, e := tx.Query(q, false)
						if e != nil {
							b.Fatal(e)
						}
						return len(res.Records)
					}
					if got := run(); got < sh.min {
						b.Fatalf("%s: %d rows, want at least %d", q, got, sh.min)
					}
					b.ReportAllocs()
					b.ResetTimer()
					defer reportCPU(b)()
					for b.Loop() {
						run()
					}
				})
			}
		})
	}
}

// generatedEmail is the email of the i-th generated person's contact.
func generatedEmail(b *testing.B, db *DB, i int) string {
	tx := db.Begin(false)
	defer tx.Commit()
	res, e := tx.Query(fmt.Sprintf("SELECT PersonEmail FROM Account WHERE AccountNumber = 'GEN-%07d'", i), false)
	if e != nil || len(res.Records) != 1 {
		b.Fatal("no generated person", i, e)
	}
	return res.Records[0].Fields[0].Value.(string)
}
