package flows

import "testing"

// BenchmarkNormalize measures one normalisation per rule and input shape, into a reused
// buffer as the engine does (appendNormalized): the cost a check-mode answer or expected value
// adds to a step.
func BenchmarkNormalize(b *testing.B) {
	m := Matching{DateOrder: DMY, DefaultCountryCode: "44"}
	cases := []struct {
		name string
		rule MatchRule
		in   string
	}{
		{"phone/national", MatchPhone, "020 7946 0111"},
		{"phone/international", MatchPhone, "+44 (0)20 7946 0111"},
		{"phone/e164", MatchPhone, "+442079460111"},
		{"phone/last4", MatchPhone, "+44 20 7946 0111"},
		{"name/ascii", MatchName, "Mary-Jane O'Neil"},
		{"name/accents", MatchName, "Zoë Brontë-Smith"},
		{"text/ascii", MatchText, "St Mary's Primary School"},
		{"date/iso", MatchDate, "1980-03-14"},
		{"date/words", MatchDate, "14th of March, 1980"},
		{"postal_code", MatchPostalCode, "SW1A 1AA"},
	}
	for _, c := range cases {
		digits := 0
		if c.name == "phone/last4" {
			digits = 4
		}
		b.Run(c.name, func(b *testing.B) {
			var buf [64]byte
			b.ReportAllocs()
			for b.Loop() {
				_ = m.appendNormalized(buf[:0], c.rule, digits, c.in)
			}
		})
	}
}
