package fakeorg

import (
	"net/http"
	"strconv"
	"time"

	"github.com/idverify/idverify/mocks/fakeorg/orgdb"
)

// The limits of one request. With the engine's (orgdb, soql), they bound what a request can
// cost, as docs/ARCHITECTURE.md ("The fake org: limits") sums up.
const (
	// maxRequestHead is the longest URI and headers together: "In each REST API call, the
	// maximum combined length of the URI and headers is 16,384 bytes. A request exceeding this
	// limit returns a 431 Request Header Fields Too Large error. If the URI itself exceeds the
	// limit, the request returns a 414 URI Too Long error." (Salesforce Help, "Maximum number of
	// rows returned by SOQL queries over the REST API", 000386264). So a GET query is at most
	// 16 KB; longer SOQL goes in a composite subrequest's body.
	maxRequestHead = 16_384

	// maxBody bounds request bodies of the data API.
	maxBody = 32 << 20

	// maxJSONDepth bounds how deeply a JSON body nests. Salesforce documents no limit; Jackson,
	// the JSON parser of the Java platform, refuses documents nested deeper than 1,000 levels by
	// default (StreamReadConstraints), and so does the fake. Go's decoder would accept 10,000.
	maxJSONDepth = 1000

	// maxJSONValues bounds the values (objects, arrays, members and elements) of a JSON body:
	// decoding costs about 64 bytes of memory per value, so a body of small values (a 32 MB
	// array of zeros is 16 million of them) would cost half a gigabyte. 500,000 is far more
	// than the largest request Salesforce takes (25 composite subrequests, 5 of them
	// collections of 200 records) needs.
	maxJSONValues = 500_000

	// maxCompositeString bounds each string of a composite request: the longest SOQL statement
	// (100,000 characters) fits in it percent-encoded in a subrequest's url, and the longest
	// field value (a long text area of 131,072 characters) even escaped as \uXXXX. A longer one
	// is refused before the body is decoded (a copy of it, and the url's parse and query each
	// another).
	maxCompositeString = 1 << 20

	// DefaultBodyTimeout is how long a request may take to send its body once its headers are
	// in: a client that stops sending (slowloris) loses its connection then.
	DefaultBodyTimeout = 60 * time.Second
)

// headTooLarge answers 414 or 431 for a request whose URI and headers pass maxRequestHead, as
// Salesforce's edge does (with a short text body), and reports whether it did.
func headTooLarge(w http.ResponseWriter, r *http.Request) bool {
	n := len(r.RequestURI)
	if n > maxRequestHead {
		http.Error(w, "URI Too Long", http.StatusRequestURITooLong)
		return true
	}
	for k, vs := range r.Header {
		for _, v := range vs {
			n += len(k) + len(v) + 4 // "k: v\r\n"
		}
	}
	if n > maxRequestHead {
		http.Error(w, "Request Header Fields Too Large", http.StatusRequestHeaderFieldsTooLarge)
		return true
	}
	return false
}

// limitBodyTime gives the request's body until the org's body timeout to arrive. It works
// whatever server serves the handler (it sets the connection's read deadline); where the
// connection does not support deadlines (httptest.ResponseRecorder) it does nothing.
func (o *Org) limitBodyTime(w http.ResponseWriter, r *http.Request) {
	if r.Body == nil || r.Body == http.NoBody {
		return
	}
	_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(o.bodyTimeout))
}

// checkJSON scans a body before it is decoded and refuses one nested deeper than maxJSONDepth,
// holding more than maxJSONValues values, or (maxString > 0) a string longer than maxString
// bytes, so that decoding is bounded in stack and memory: a body costs about three times its
// size (the body, the decoder's copy, the decoded strings) and 64 bytes a value. It does not
// validate the JSON: the decoder does.
func checkJSON(body []byte, maxString int) *orgdb.Error {
	depth, values := 0, 0
	inString, start := false, 0
	for i := 0; i < len(body); i++ {
		c := body[i]
		if inString {
			switch c {
			case '\\':
				i++
			case '"':
				inString = false
				if maxString > 0 && i-start-1 > maxString {
					return &orgdb.Error{Status: http.StatusBadRequest, Code: "JSON_PARSER_ERROR",
						Message: "A string of the request body is longer than " + strconv.Itoa(maxString) + " bytes"}
				}
			}
			continue
		}
		switch c {
		case '"':
			inString, start = true, i
		case '{', '[':
			if depth++; depth > maxJSONDepth {
				return &orgdb.Error{Status: http.StatusBadRequest, Code: "JSON_PARSER_ERROR",
					Message: "Document nesting depth exceeds the maximum allowed (" + strconv.Itoa(maxJSONDepth) + ")"}
			}
			values++
		case '}', ']':
			depth--
		case ',', ':':
			values++
		}
		if values > maxJSONValues {
			return &orgdb.Error{Status: http.StatusBadRequest, Code: "JSON_PARSER_ERROR",
				Message: "The request body holds more than " + strconv.Itoa(maxJSONValues) + " JSON values"}
		}
	}
	return nil
}
