// Package examples embeds the example configuration, idverify.yaml: Salesforce's sample
// verification setup plus a representative search type, written for the fake org's demo data.
// `idverify serve` without Salesforce credentials runs its policy.
package examples

import _ "embed"

// Config is idverify.yaml.
//
//go:embed idverify.yaml
var Config []byte
