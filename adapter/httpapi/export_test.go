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

// RouteAccess returns the key each endpoint of a needs, by "METHOD /pattern": "none", "any"
// or "admin".
func RouteAccess(a *API) map[string]string {
	out := map[string]string{}
	for _, rt := range a.routes() {
		out[rt.method+" "+rt.pattern] = map[access]string{noKey: "none", anyKey: "any", adminKey: "admin"}[rt.access]
	}
	return out
}
