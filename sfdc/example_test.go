package sfdc_test

import (
	"context"
	"fmt"

	"github.com/simpleforce/simpleforce"

	"github.com/idverify/idverify/sfdc"
)

func ExampleSelect() {
	phone := "+44 20 7946 0000' OR Name != '"
	q := sfdc.Select("Id", "Name", "Account.Name").From("Contact").
		Where(sfdc.Or(sfdc.Eq("Phone", phone), sfdc.Eq("MobilePhone", phone)), sfdc.Eq("IsDeleted", false)).
		OrderBy("LastName", false).Limit(2)
	soql, err := q.SOQL()
	if err != nil {
		panic(err)
	}
	fmt.Println(soql)
	fmt.Println(q.Shape())
	// Output:
	// SELECT Id, Name, Account.Name FROM Contact WHERE ((Phone = '+44 20 7946 0000\' OR Name != \'' OR MobilePhone = '+44 20 7946 0000\' OR Name != \'') AND IsDeleted = false) ORDER BY LastName ASC LIMIT 2
	// SELECT Id, Name, Account.Name FROM Contact WHERE ((Phone = ? OR MobilePhone = ?) AND IsDeleted = ?) ORDER BY LastName ASC LIMIT 2
}

func ExampleFind() {
	s := sfdc.Find("Smith (Jr) OR x").In(sfdc.NameFields).
		Returning(sfdc.Returning{Object: "Contact", Fields: []string{"Id", "Name"}, Limit: 10})
	sosl, _ := s.SOSL()
	fmt.Println(sosl)
	// Output:
	// FIND {"Smith" AND "\(Jr\)" AND "OR"} IN NAME FIELDS RETURNING Contact(Id, Name LIMIT 10)
}

func ExampleParseID() {
	id, err := sfdc.ParseID("0019000001AWn2o")
	fmt.Println(id, id.Short(), id.Prefix(), err)
	// Output:
	// 0019000001AWn2oAAD 0019000001AWn2o 001 <nil>
}

// A client that shares the session of a logged-in simpleforce client, and has simpleforce log
// in again when Salesforce refuses it.
func ExampleSimpleforceAuth() {
	sf := simpleforce.NewClient("https://login.salesforce.com", simpleforce.DefaultClientID, "62.0")
	if err := sf.LoginPassword("user@example.com", "password", "token"); err != nil {
		panic(err)
	}
	c, err := sfdc.New(sfdc.Config{Auth: sfdc.SimpleforceAuth(sf, func(ctx context.Context, sf *simpleforce.Client) error {
		return sf.LoginPassword("user@example.com", "password", "token")
	})})
	if err != nil {
		panic(err)
	}
	_ = c
}

// A client on the session a softphone already holds, asking it for a new one when Salesforce
// refuses the old.
func ExampleSession() {
	var softphone interface {
		Session(ctx context.Context) (token, instanceURL string, err error)
	}
	c, err := sfdc.New(sfdc.Config{Auth: sfdc.Auth{
		Method: sfdc.AuthSession,
		Refresh: func(ctx context.Context, expired sfdc.Session) (sfdc.Session, error) {
			token, url, err := softphone.Session(ctx)
			return sfdc.Session{AccessToken: token, InstanceURL: url}, err
		},
	}})
	if err != nil {
		panic(err)
	}
	_ = c
}
