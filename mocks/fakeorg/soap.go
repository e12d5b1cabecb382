package fakeorg

import (
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
	"github.com/idverify/idverify/mocks/fakeorg/soql"
)

// The SOAP API's login() call, which older clients (simpleforce's LoginPassword among them) use
// instead of OAuth: POST /services/Soap/u/NN.0 (partner) or /services/Soap/c/NN.0 (enterprise)
// with a login envelope. Salesforce is retiring it: "login() remains available in API version
// 64.0 and earlier" (SOAP API Developer Guide, login()), versions 21.0–30.0 are retired (SOAP
// API End-of-Life Policy), and an org created since Winter '26 has it switched off until an
// administrator enables it. The fake org is an org that enabled it. It serves login() only: the
// session id it returns is an access token for the REST API, as Salesforce's is.
const (
	soapLoginMinVersion = 31
	soapLoginMaxVersion = 64
)

// soapLoginRequest is the part of a login envelope the org reads; element names are matched
// whatever their namespace prefix.
type soapLoginRequest struct {
	Body struct {
		Login *struct {
			Username string `xml:"username"`
			Password string `xml:"password"`
		} `xml:"login"`
		Any []struct{ XMLName xml.Name } `xml:",any"`
	} `xml:"Body"`
}

// serveSOAP serves /services/Soap/{u,c}/NN.0[/…].
func (o *Org) serveSOAP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		writeDataError(w, http.StatusMethodNotAllowed, methodNotAllowed(r.Method, "POST"))
		return
	}
	segs := strings.Split(strings.TrimPrefix(r.URL.Path, "/services/Soap/"), "/")
	if len(segs) < 2 || segs[0] != "u" && segs[0] != "c" {
		writeDataError(w, http.StatusNotFound, errNotFound)
		return
	}
	ns := "urn:partner.soap.sforce.com"
	if segs[0] == "c" {
		ns = "urn:enterprise.soap.sforce.com"
	}
	ver, n, ok := parseVersion("v" + segs[1])
	if !ok || n < soapLoginMinVersion {
		writeSOAPFault(w, ns, "UNSUPPORTED_API_VERSION", "UNSUPPORTED_API_VERSION: Invalid Api version specified on URL", false)
		return
	}
	var req soapLoginRequest
	dec := xml.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil && !errors.Is(err, io.EOF) {
		writeSOAPFault(w, ns, "soapenv:Client", "Unable to parse the request envelope", false)
		return
	}
	if req.Body.Login == nil {
		op := "(none)"
		if len(req.Body.Any) > 0 {
			op = "{" + soql.Clip(req.Body.Any[0].XMLName.Space) + "}" + soql.Clip(req.Body.Any[0].XMLName.Local)
		}
		writeSOAPFault(w, ns, "soapenv:Client", "No operation available for request "+op+", the fake org serves login() only", false)
		return
	}
	if n > soapLoginMaxVersion {
		// Salesforce does not document the fault login() meets at 65.0 and later; this is the
		// fault its End-of-Life Policy gives for an operation a version does not have.
		writeSOAPFault(w, ns, "UNSUPPORTED_API_VERSION",
			"UNSUPPORTED_API_VERSION: login() is not available in API version "+ver+"; use OAuth", false)
		return
	}
	if !o.allowLogin() {
		writeSOAPFault(w, ns, "LOGIN_RATE_EXCEEDED", "LOGIN_RATE_EXCEEDED: Login rate exceeded", true)
		return
	}
	if o.checkPassword(req.Body.Login.Username, req.Body.Login.Password) != nil {
		writeSOAPFault(w, ns, "INVALID_LOGIN", "INVALID_LOGIN: Invalid username, password, security token; or user locked out.", true)
		return
	}
	o.writeLoginResult(w, r, ns, segs[0], ver)
}

// writeLoginResult answers a successful login() with a LoginResult (SOAP API Developer Guide,
// "LoginResult" and "getUserInfoResult").
func (o *Org) writeLoginResult(w http.ResponseWriter, r *http.Request, ns, api, ver string) {
	tx := o.db.Begin(false)
	user, e := tx.Get("User", o.userID, []string{"Name", "Email", "TimeZoneSidKey", "LocaleSidKey", "LanguageLocaleKey"})
	org, e2 := tx.Get("Organization", o.orgID, []string{"Name"})
	tx.Commit()
	if e != nil || e2 != nil {
		writeSOAPFault(w, ns, "UNKNOWN_EXCEPTION", "UNKNOWN_EXCEPTION: the integration user is missing", false)
		return
	}
	str := func(rec *orgdb.Record, i int) string { s, _ := rec.Fields[i].Value.(string); return s }
	base := o.base(r)
	org15 := o.orgID[:15]
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="`)
	b.WriteString(ns)
	b.WriteString(`" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse><result>`)
	el := func(name, value string) {
		b.WriteString("<" + name + ">")
		_ = xml.EscapeText(&b, []byte(value))
		b.WriteString("</" + name + ">")
	}
	el("metadataServerUrl", base+"/services/Soap/m/"+ver+"/"+org15)
	el("passwordExpired", "false")
	el("sandbox", "false")
	el("serverUrl", base+"/services/Soap/"+api+"/"+ver+"/"+org15)
	el("sessionId", o.issueAccess([32]byte{}))
	el("userId", o.userID)
	b.WriteString("<userInfo>")
	el("accessibilityMode", "false")
	el("currencySymbol", "$")
	el("orgAttachmentFileSizeLimit", "5242880")
	el("orgDefaultCurrencyIsoCode", "USD")
	el("orgDisallowHtmlAttachments", "false")
	el("orgHasPersonAccounts", "true")
	el("organizationId", o.orgID)
	el("organizationMultiCurrency", "false")
	el("organizationName", str(org, 0))
	el("profileId", "00e"+o.userID[3:15])
	b.WriteString(`<roleId xsi:nil="true"/>`)
	el("sessionSecondsValid", strconv.Itoa(int(o.lifetime.Seconds())))
	b.WriteString(`<userDefaultCurrencyIsoCode xsi:nil="true"/>`)
	el("userEmail", str(user, 1))
	el("userFullName", str(user, 0))
	el("userId", o.userID)
	el("userLanguage", str(user, 4))
	el("userLocale", str(user, 3))
	el("userName", o.username)
	el("userTimeZone", str(user, 2))
	el("userType", "Standard")
	el("userUiSkin", "Theme3")
	b.WriteString("</userInfo></result></loginResponse></soapenv:Body></soapenv:Envelope>")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	_, _ = io.WriteString(w, b.String())
}

// writeSOAPFault answers a SOAP 1.1 fault, HTTP 500; a login fault carries a LoginFault detail.
func writeSOAPFault(w http.ResponseWriter, ns, code, message string, login bool) {
	faultNS := strings.Replace(ns, "urn:", "urn:fault.", 1)
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:sf="`)
	b.WriteString(faultNS)
	b.WriteString(`" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><soapenv:Fault><faultcode>`)
	if !strings.Contains(code, ":") {
		code = "sf:" + code
	}
	_ = xml.EscapeText(&b, []byte(code))
	b.WriteString("</faultcode><faultstring>")
	_ = xml.EscapeText(&b, []byte(message))
	b.WriteString("</faultstring>")
	if login {
		exception, text, _ := strings.Cut(message, ": ")
		b.WriteString(`<detail><sf:LoginFault xsi:type="sf:LoginFault"><sf:exceptionCode>`)
		_ = xml.EscapeText(&b, []byte(exception))
		b.WriteString("</sf:exceptionCode><sf:exceptionMessage>")
		_ = xml.EscapeText(&b, []byte(text))
		b.WriteString("</sf:exceptionMessage></sf:LoginFault></detail>")
	}
	b.WriteString("</soapenv:Fault></soapenv:Body></soapenv:Envelope>")
	w.Header().Set("Content-Type", "text/xml;charset=UTF-8")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = io.WriteString(w, b.String())
}
