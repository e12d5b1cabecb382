package console

import "net/http"

// AgentCookie is the test seam for a signed-in agent: the cookie Salesforce's sign-in would
// have set for a.
func (c *Console) AgentCookie(a Agent) *http.Cookie {
	return &http.Cookie{Name: agentCookie, Value: c.sealAgent(a), Path: "/console/"}
}
