package fakeorg

import (
	"net/http"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// serveColumns is GET query?q=SOQL&columns=true (and tooling/query): the columns of the query's
// select list instead of its rows. Salesforce does not document the parameter; the Salesforce
// CLI's `sf data query` asks for it (plugin-data, retrieveColumns) and reads columnMetadata.
func serveColumns(c *call, q string) response {
	return c.run(false, func(tx *orgdb.Tx) response {
		cols, e := tx.Columns(q)
		if e != nil {
			return errResp(e)
		}
		return jsonResp(http.StatusOK, cols)
	})
}
