package orgdb

import (
	"runtime"
	"sync"
	"testing"
)

// The benchmarks share one generated org of 100,000 person accounts (each with its person
// contact, so 100,000 contacts), built once.
var (
	bigOnce sync.Once
	bigDB   *DB
)

func bigOrg(b *testing.B) *DB {
	b.Helper()
	bigOnce.Do(func() {
		db, err := New(Options{})
		if err != nil {
			panic(err)
		}
		if err := SeedGenerated(db, 100_000, 1); err != nil {
			panic(err)
		}
		bigDB = db
	})
	return bigDB
}

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
	benchQuery(b, "SELECT COUNT() FROM Contact", 100_000)
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
