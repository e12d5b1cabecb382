package httpapi

// Routes returns every endpoint of a as "METHOD /pattern".
func Routes(a *API) []string {
	var out []string
	for _, rt := range a.routes() {
		out = append(out, rt.method+" "+rt.pattern)
	}
	return out
}

// Codes returns every problem code the table answers with, and "internal".
func Codes() []string {
	out := []string{internal.code}
	for _, e := range problemTypes {
		out = append(out, e.code)
	}
	return out
}
