package sfdc_test

import (
	"fmt"

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
