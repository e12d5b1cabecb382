package salesforce_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/flows/flowstest"
)

// BenchmarkVerification runs whole verifications (start by phone to delivered write-back)
// through the engine, the adapter and flowstest's in-memory store against the fake org on a
// local httptest server: what the adapter and the org's round trips cost, the store aside.
func BenchmarkVerification(b *testing.B) {
	for _, sc := range []struct {
		name string
		run  func(d *drive, t testing.TB)
	}{{"self", (*drive).self}, {"representative", (*drive).representative}} {
		b.Run(sc.name, func(b *testing.B) {
			d := newDrive(b)
			d.quick = true
			b.ReportAllocs()
			for b.Loop() {
				d.store = &flowstest.Store{} // each verification a new call on a new engagement
				var err error
				d.engine, err = flows.New(d.e.opts.Policy, flows.Ports{CRM: d.e.a, Recorder: d.e.a, Store: d.store},
					[]byte("0123456789abcdef0123456789abcdef"))
				require.NoError(b, err)
				sc.run(d, b)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "verifications/s")
		})
	}
}
