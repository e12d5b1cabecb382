package flows

import "slices"

// maskResults returns rows with the values of st's masked result fields masked, as
// RevealMasked masks an expected value. rows themselves are left as they are (they belong to
// the CRM), so masking copies them, only when st masks anything.
func maskResults(st *SearchType, rows []Row) []Row {
	if st == nil || len(st.MaskedResultFields) == 0 || len(rows) == 0 {
		return rows
	}
	masked := make([]bool, len(st.ResultFields))
	for i, f := range st.ResultFields {
		masked[i] = slices.Contains(st.MaskedResultFields, f)
	}
	out := make([]Row, len(rows))
	for i, r := range rows {
		values := slices.Clone(r.Values)
		for j := range values {
			if j < len(masked) && masked[j] {
				values[j] = mask(MatchExact, values[j])
			}
		}
		out[i] = Row{Ref: r.Ref, Values: values}
	}
	return out
}
