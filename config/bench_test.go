package config

import (
	"path/filepath"
	"testing"
)

// BenchmarkLoadExample measures a full load of examples/idverify.yaml (viper, decoding,
// validation) and its conversion to a flows.Policy: the cost of `idverify config check` and of
// a server start, not of any request.
func BenchmarkLoadExample(b *testing.B) {
	b.Setenv("IDVERIFY_SECRETS_HMAC_KEY", testHMACKey)
	opts := Options{File: filepath.Join("..", "examples", "idverify.yaml")}
	b.ReportAllocs()
	for b.Loop() {
		c, err := Load(opts)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := c.Policy(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkValidate measures Validate alone on a valid configuration.
func BenchmarkValidate(b *testing.B) {
	c := valid()
	b.ReportAllocs()
	for b.Loop() {
		if err := c.Validate(); err != nil {
			b.Fatal(err)
		}
	}
}
