package sfdc

import (
	"fmt"
	"strings"
	"testing"
)

// pageJSON builds a 2,000-record query page shaped like Salesforce's: attributes, a dozen
// fields of every common type, nulls and a parent lookup.
func pageJSON(n int) []byte {
	var b strings.Builder
	fmt.Fprintf(&b, `{"totalSize":%d,"done":false,"nextRecordsUrl":"/services/data/v62.0/query/01gD0000002HU6KIAW-2000","records":[`, n*3)
	for i := 0; i < n; i++ {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"attributes":{"type":"Contact","url":"/services/data/v62.0/sobjects/Contact/0035g0000%06dAAA"},`+
			`"Id":"0035g0000%06dAAA","FirstName":"First%d","LastName":"Last%d","Name":"First%d Last%d",`+
			`"Phone":"+44 20 7946 %04d","Email":"person%d@example.com","Birthdate":"1980-01-%02d",`+
			`"MailingPostalCode":"SW1A %dAA","HasOptedOutOfEmail":false,"NumberOfChildren__c":%d,"Score__c":%d.5,`+
			`"Description":null,"LastModifiedDate":"2024-03-05T14:30:00.000+0000",`+
			`"Account":{"attributes":{"type":"Account","url":"/services/data/v62.0/sobjects/Account/0015g0000%06dAAA"},"Name":"Account %d"}}`,
			i, i, i, i, i, i, i%10000, i, i%28+1, i%10, i%5, i, i, i)
	}
	b.WriteString("]}")
	return []byte(b.String())
}

type benchContact struct {
	ID                string  `json:"Id"`
	FirstName         string  `json:"FirstName"`
	LastName          string  `json:"LastName"`
	Phone             string  `json:"Phone"`
	Email             string  `json:"Email"`
	Birthdate         string  `json:"Birthdate"`
	MailingPostalCode string  `json:"MailingPostalCode"`
	Score             float64 `json:"Score__c"`
	Account           struct {
		Name string `json:"Name"`
	} `json:"Account"`
}

// BenchmarkDecodePage decodes one full page (2,000 records) the way Query and QueryInto do.
func BenchmarkDecodePage(b *testing.B) {
	body := pageJSON(2000)
	b.Run("records", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		for b.Loop() {
			p, err := parsePage(body)
			if err != nil || len(p.records) != 2000 {
				b.Fatal(err)
			}
		}
	})
	b.Run("structs", func(b *testing.B) {
		b.SetBytes(int64(len(body)))
		b.ReportAllocs()
		res := &result{body: body}
		for b.Loop() {
			rows, _, _, err := decodeInto[benchContact]("query", res)
			if err != nil || len(rows) != 2000 {
				b.Fatal(err)
			}
		}
	})
}

func TestDecodePage(t *testing.T) {
	p, err := parsePage(pageJSON(3))
	if err != nil {
		t.Fatal(err)
	}
	r := p.records[2]
	if name, _ := r.String("Account.Name"); name != "Account 2" {
		t.Fatalf("Account.Name = %q", name)
	}
	if n, ok := r.Int("NumberOfChildren__c"); !ok || n != 2 {
		t.Fatalf("NumberOfChildren__c = %d %v", n, ok)
	}
	if f, ok := r.Float("Score__c"); !ok || f != 2.5 {
		t.Fatalf("Score__c = %v %v", f, ok)
	}
	if d, ok := r.Date("Birthdate"); !ok || d != (Date{1980, 1, 3}) {
		t.Fatalf("Birthdate = %v %v", d, ok)
	}
	if tm, ok := r.Time("LastModifiedDate"); !ok || tm.Hour() != 14 {
		t.Fatalf("LastModifiedDate = %v %v", tm, ok)
	}
	if b, ok := r.Bool("HasOptedOutOfEmail"); !ok || b {
		t.Fatalf("HasOptedOutOfEmail = %v %v", b, ok)
	}
	if !r.IsNull("Description") || r.IsNull("Phone") {
		t.Fatal("IsNull")
	}
	if _, ok := r.Get("Nope.Name"); ok {
		t.Fatal("missing parent found")
	}
	if got := r.ID(); got != "0035g0000000002AAA" {
		t.Fatalf("Id = %q", got)
	}
	if p.next == "" || p.done || p.totalSize != 9 {
		t.Fatal("page fields")
	}
}
