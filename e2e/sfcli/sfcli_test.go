// Package sfcli holds the check that the Salesforce CLI (sf, npm @salesforce/cli) works
// unchanged against `idverify fake-org`: login with an access token, org display, data
// query/create/get/update/delete/search, sobject describe and list. The check itself is
// check.js, run by run.sh; this test runs run.sh when IDVERIFY_E2E_SFCLI=1.
package sfcli

import (
	"testing"

	"github.com/idverify/idverify/e2e/runcheck"
)

func TestSalesforceCLIAgainstFakeOrg(t *testing.T) { runcheck.Run(t, "IDVERIFY_E2E_SFCLI") }
