package sfdc

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Kinds of failure. A *Error answers errors.Is for exactly one of them (or none, when Salesforce
// answered something this package does not classify). Compare with errors.Is, never with ==.
var (
	ErrSessionExpired   = errors.New("sfdc: session expired or invalid")        // 401 INVALID_SESSION_ID
	ErrAuth             = errors.New("sfdc: login failed")                      // the token endpoint refused
	ErrNotFound         = errors.New("sfdc: not found")                         // NOT_FOUND, ENTITY_IS_DELETED, 404
	ErrDailyLimit       = errors.New("sfdc: daily API request limit exceeded")  // REQUEST_LIMIT_EXCEEDED (TotalRequests)
	ErrConcurrencyLimit = errors.New("sfdc: concurrent request limit exceeded") // REQUEST_LIMIT_EXCEEDED (ConcurrentRequests)
	ErrLocked           = errors.New("sfdc: unable to lock row")                // UNABLE_TO_LOCK_ROW
	ErrValidation       = errors.New("sfdc: record failed validation")          // REQUIRED_FIELD_MISSING, DUPLICATE_VALUE, …
	ErrInvalidRequest   = errors.New("sfdc: invalid request")                   // MALFORMED_QUERY, INVALID_FIELD, …
	ErrPermission       = errors.New("sfdc: insufficient access")               // INSUFFICIENT_ACCESS_OR_READONLY, API_DISABLED_FOR_ORG, 403
	ErrUnavailable      = errors.New("sfdc: service unavailable")               // SERVER_UNAVAILABLE, 5xx, edge-proxy pages
	ErrMultipleMatches  = errors.New("sfdc: several records match")             // 300 on upsert by external id
	ErrRolledBack       = errors.New("sfdc: rolled back by another failure")    // PROCESSING_HALTED, ALL_OR_NONE_OPERATION_ROLLED_BACK
	// ErrDecode: an answer was fine but does not fit the caller's type (a struct field of the
	// wrong type, a time.Time for a Salesforce date): a bug in the caller, never retried.
	ErrDecode = errors.New("sfdc: value does not fit the destination type")
)

// Error is the one error type of this package's methods: whole calls, composite subrequests and
// per-record results of collections, transport failures, logins, ended contexts, refused input
// and values that do not fit the caller's type all map to it (see the package doc).
//
// Error() never contains Message: Salesforce's messages can echo query text with its literals,
// picklist values or other field values. Message is kept for callers that must show it to a
// person who may see the data; do not log it.
type Error struct {
	Op         string   // what the client was doing, e.g. "query", "create Account"; never values
	StatusCode int      // HTTP status; 0 for per-record results of a 200 answer
	Code       string   // Salesforce's errorCode (statusCode in collections; error for OAuth)
	Fields     []string // the fields concerned, when Salesforce names them
	Message    string   // Salesforce's text, which may contain data: never logged by this package
	Attempts   int      // HTTP attempts made, when more than one
	Shape      string   // the query with literals replaced by '?', when built with this package
	// RetryAfter is how long the answer's Retry-After header asked to wait (0 when it had
	// none). The client waits that long before a retry when it is at most
	// Config.RetryAfterMax; longer, it does not retry and leaves the wait to the caller.
	RetryAfter time.Duration

	kind  error
	cause error // a transport error, already free of URLs
}

// Error describes the failure without Salesforce's message, literals, tokens or field values.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("sfdc: ")
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	switch {
	case e.Code != "" && e.StatusCode != 0:
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteByte(' ')
		b.WriteString(e.Code)
	case e.Code != "":
		b.WriteString(e.Code)
	case e.StatusCode != 0:
		b.WriteString(strconv.Itoa(e.StatusCode))
		b.WriteByte(' ')
		b.WriteString(http.StatusText(e.StatusCode))
	case e.cause != nil:
		b.WriteString(strings.TrimPrefix(e.cause.Error(), "sfdc: "))
	case e.kind != nil:
		b.WriteString(strings.TrimPrefix(e.kind.Error(), "sfdc: "))
	default:
		b.WriteString("unknown failure")
	}
	if e.kind == ErrAuth && e.Message != "" {
		// OAuth descriptions are a fixed vocabulary ("authentication failure", "expired
		// access/refresh token"): safe, and the only useful detail of a failed login.
		b.WriteString(" (")
		b.WriteString(e.Message)
		b.WriteByte(')')
	}
	if len(e.Fields) > 0 {
		b.WriteString(" fields=")
		b.WriteString(strings.Join(e.Fields, ","))
	}
	if e.Shape != "" {
		b.WriteString(" query=")
		b.WriteString(e.Shape)
	}
	if e.Attempts > 1 {
		b.WriteString(" attempts=")
		b.WriteString(strconv.Itoa(e.Attempts))
	}
	if e.RetryAfter > 0 {
		b.WriteString(" retry-after=")
		b.WriteString(e.RetryAfter.String())
	}
	return b.String()
}

// GoString keeps %#v from printing Message.
func (e *Error) GoString() string { return "&sfdc.Error{" + strconv.Quote(e.Error()) + "}" }

// LogValue makes slog record the error's safe parts only.
func (e *Error) LogValue() slog.Value {
	attrs := []slog.Attr{slog.String("op", e.Op), slog.Int("status", e.StatusCode), slog.String("code", e.Code)}
	if len(e.Fields) > 0 {
		attrs = append(attrs, slog.Any("fields", e.Fields))
	}
	if e.Attempts > 1 {
		attrs = append(attrs, slog.Int("attempts", e.Attempts))
	}
	if e.RetryAfter > 0 {
		attrs = append(attrs, slog.Duration("retry_after", e.RetryAfter))
	}
	if e.Code == "" && e.StatusCode == 0 {
		attrs = append(attrs, slog.String("error", e.Error()))
	}
	return slog.GroupValue(attrs...)
}

// Is reports whether target is this error's kind.
func (e *Error) Is(target error) bool { return target != nil && target == e.kind }

// Unwrap returns the failure behind the error, if any: a transport error (free of URLs), the
// context's error, a builder's error, or why a value did not fit (free of values).
func (e *Error) Unwrap() error { return e.cause }

// Kind returns the error's kind (one of the Err* values) or nil.
func (e *Error) Kind() error { return e.kind }

// apiError is one element of the JSON array data endpoints answer with. Collections name the
// code statusCode instead of errorCode.
type apiError struct {
	Message    string   `json:"message"`
	ErrorCode  string   `json:"errorCode"`
	StatusCode string   `json:"statusCode"`
	Fields     []string `json:"fields"`
}

func (a apiError) code() string {
	if a.ErrorCode != "" {
		return a.ErrorCode
	}
	return a.StatusCode
}

// errorFromResponse builds an *Error from a non-2xx answer. Bodies that are not Salesforce's JSON
// error array (HTML from a proxy, empty, truncated) still give the status and a kind.
func errorFromResponse(op string, status int, body []byte) *Error {
	e := &Error{Op: op, StatusCode: status}
	var list []apiError
	if len(body) > 0 && body[0] == '[' && json.Unmarshal(body, &list) == nil && len(list) > 0 {
		first := list[0]
		e.Code, e.Message, e.Fields = first.code(), first.Message, first.Fields
	} else if len(body) > 0 && body[0] == '{' {
		// Some endpoints (and OAuth) answer a single object.
		var one struct {
			apiError
			Error       string `json:"error"`
			Description string `json:"error_description"`
		}
		if json.Unmarshal(body, &one) == nil {
			e.Code, e.Message, e.Fields = one.code(), one.apiError.Message, one.apiError.Fields
			if e.Code == "" {
				e.Code, e.Message = one.Error, one.Description
			}
		}
	}
	e.kind = classify(status, e.Code, e.Message)
	return e
}

// recordError maps one per-record error of a collection or composite result.
func recordError(op string, status int, a apiError) *Error {
	e := &Error{Op: op, StatusCode: status, Code: a.code(), Message: a.Message, Fields: a.Fields}
	e.kind = classify(status, e.Code, e.Message)
	return e
}

// classify maps Salesforce's errorCode (first) and the HTTP status (second) to a kind.
func classify(status int, code, message string) error {
	switch code {
	case "INVALID_SESSION_ID":
		return ErrSessionExpired
	case "NOT_FOUND", "ENTITY_IS_DELETED":
		return ErrNotFound
	case "REQUEST_LIMIT_EXCEEDED":
		if isConcurrentLimit(message) {
			return ErrConcurrencyLimit
		}
		return ErrDailyLimit
	case "UNABLE_TO_LOCK_ROW":
		return ErrLocked
	case "REQUIRED_FIELD_MISSING", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
		"DUPLICATE_VALUE", "INVALID_CROSS_REFERENCE_KEY", "INVALID_FIELD_FOR_INSERT_UPDATE",
		"STRING_TOO_LONG", "INVALID_EMAIL_ADDRESS", "FIELD_INTEGRITY_EXCEPTION", "DUPLICATES_DETECTED",
		"INVALID_TYPE_ON_FIELD_IN_RECORD", "FIELD_FILTER_VALIDATION_EXCEPTION", "CANNOT_INSERT_UPDATE_ACTIVATE_ENTITY":
		return ErrValidation
	case "MALFORMED_QUERY", "MALFORMED_SEARCH", "INVALID_FIELD", "INVALID_TYPE", "MALFORMED_ID", "JSON_PARSER_ERROR",
		"INVALID_QUERY_FILTER_OPERATOR", "INVALID_QUERY_LOCATOR", "INVALID_SEARCH", "METHOD_NOT_ALLOWED",
		"NOT_ACCEPTABLE", "UNSUPPORTED_MEDIA_TYPE", "INVALID_ID_FIELD", "INVALID_INPUT", "APEX_ERROR":
		return ErrInvalidRequest
	case "INSUFFICIENT_ACCESS_OR_READONLY", "INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
		"API_DISABLED_FOR_ORG", "API_CURRENTLY_DISABLED", "FUNCTIONALITY_NOT_ENABLED":
		return ErrPermission
	case "SERVER_UNAVAILABLE":
		return ErrUnavailable
	case "PROCESSING_HALTED", "ALL_OR_NONE_OPERATION_ROLLED_BACK":
		return ErrRolledBack
	}
	switch {
	case status == http.StatusUnauthorized:
		return ErrSessionExpired
	case status == http.StatusMultipleChoices:
		return ErrMultipleMatches
	case status == http.StatusNotFound:
		return ErrNotFound
	case status == http.StatusForbidden:
		return ErrPermission
	case status == http.StatusTooManyRequests:
		// An edge's rate limit (Salesforce's own is REQUEST_LIMIT_EXCEEDED): refused before
		// anything was done, as the concurrent limit is (RFC 6585, section 4).
		return ErrConcurrencyLimit
	case status >= 500, status == 420:
		return ErrUnavailable
	case status >= 400:
		return ErrInvalidRequest
	}
	return nil
}

// isConcurrentLimit tells the concurrent-request limit ("ConcurrentRequests (Concurrent API
// Requests) Limit exceeded.") from the daily one ("TotalRequests Limit exceeded.").
func isConcurrentLimit(message string) bool {
	return strings.Contains(strings.ToLower(message), "concurrent")
}

// transportError wraps a failure below HTTP (dial, reset, timeout, cancellation). Its text is the
// cause without the request URL, which carries SOQL.
func transportError(op string, err error) *Error {
	return &Error{Op: op, kind: ErrUnavailable, cause: stripURL(err)}
}

// stripURL removes the *url.Error layer, whose text contains the request URL (and so SOQL).
func stripURL(err error) error {
	var ue *url.Error
	for errors.As(err, &ue) {
		err = ue.Err
	}
	return err
}

// refused wraps an input error found before anything was sent (a builder's error, a bad id): it
// keeps its kind, ErrBadQuery or ErrBadID.
func refused(op string, err error) *Error {
	if e, ok := err.(*Error); ok {
		return e
	}
	kind := ErrBadQuery
	if errors.Is(err, ErrBadID) {
		kind = ErrBadID
	}
	return &Error{Op: op, kind: kind, cause: err}
}

// ended is the error of a call whose context ended (cancelled or past its deadline) before an
// answer came: no kind, the context's error as its cause.
func ended(op string, attempts int, err error) *Error {
	return &Error{Op: op, Attempts: attempts, cause: err}
}

// decodeFailure is the error of an answer that does not fit the caller's type (kind ErrDecode),
// with a cause that names the field and the types but never the value: encoding/json quotes
// numbers ("cannot unmarshal number 19800229"), time.Time and ",string" fields quote the whole
// text, and a caller's own UnmarshalJSON may say anything.
func decodeFailure(op string, err error) *Error {
	return &Error{Op: op, kind: ErrDecode, cause: valueFree(err)}
}

// valueFree rewrites a decoding error without the value it may quote.
func valueFree(err error) error {
	var te *json.UnmarshalTypeError
	var ie *json.InvalidUnmarshalError
	var pe *time.ParseError
	var fe *fitError
	switch {
	case errors.As(err, &fe):
		return fe // this package's own types: no value in it
	case errors.As(err, &te):
		// The same type, so errors.As still works; Value keeps the JSON kind only
		// ("number 1.5" becomes "number").
		kind, _, _ := strings.Cut(te.Value, " ")
		return &json.UnmarshalTypeError{Value: kind, Type: te.Type, Offset: te.Offset, Struct: te.Struct, Field: te.Field}
	case errors.As(err, &ie):
		return ie // a nil or non-pointer destination: no value in it
	case errors.As(err, &pe):
		return fmt.Errorf("a value does not parse as time.Time (layout %q): use sfdc.Date for Salesforce dates, "+
			"sfdc.DateTime for datetimes", pe.Layout)
	}
	return fmt.Errorf("a value was refused by the destination's decoder (%T; its message is withheld: it may quote the value)", err)
}
