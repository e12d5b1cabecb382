package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"time"

	"github.com/idverify/idverify/flows"
)

// answer is what a POST endpoint answers when it succeeds.
type answer struct {
	status int
	// body is marshalled as JSON; nil answers with no body.
	body any
	// view, when set, is the session the body shows: its personal values are not stored for
	// a replay (see storeAnswer).
	view *flows.View
	// location is the Location header of a 201.
	location string
}

// call is one POST request as its endpoint sees it.
type call struct {
	r *http.Request
	// idempotencyKey is the request's Idempotency-Key, if any.
	idempotencyKey string
	// session is the session the request acts on, when its path names one: a version conflict
	// is answered with its current version.
	session string
}

// post returns the handler of a POST endpoint that takes a JSON body of type T: it reads the
// body (bounded), decodes it strictly, honours Idempotency-Key and answers run's result.
// field is the body's main member, named by a 422 the engine gives without naming one.
func post[T any](a *API, field string, run func(ctx context.Context, c *call, req *T) (answer, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := &call{r: r, session: r.PathValue("id")}
		if !strings.HasPrefix(r.Pattern, "POST /v1/sessions/") {
			c.session = ""
		}
		body, err := a.readBody(w, r)
		if err == nil {
			c.idempotencyKey, err = idempotencyKey(r)
		}
		req := new(T)
		if err == nil {
			err = decode(body, req)
		}
		if err != nil {
			a.fail(w, r, err, field)
			return
		}
		exec := func() (answer, error) { return run(r.Context(), c, req) }
		if c.idempotencyKey == "" {
			ans, err := exec()
			a.respond(w, r, c, ans, err, field)
			return
		}
		a.idempotent(w, r, c, field, body, exec)
	}
}

// respond answers a POST endpoint's result.
func (a *API) respond(w http.ResponseWriter, r *http.Request, c *call, ans answer, err error, field string) {
	if err != nil {
		a.fail(w, r, err, field)
		return
	}
	if ans.view != nil {
		a.persons.remember(ans.view)
		if ans.view.State == flows.StateDone {
			a.metrics.Outcome(ans.view.Outcome)
		}
	}
	if ans.location != "" {
		w.Header().Set("Location", ans.location)
	}
	if ans.body == nil {
		w.WriteHeader(ans.status)
		return
	}
	writeJSON(w, r, ans.status, "application/json", ans.body)
}

// jsonSpace is the whitespace JSON allows between tokens.
const jsonSpace = " \t\r\n"

// decode reads body, a JSON object, into v: no unknown member, no trailing data. An empty body
// is an empty object.
func decode(body []byte, v any) error {
	// JSON's whitespace only: bytes.TrimSpace also takes \v, \f, U+0085 and U+00A0, which
	// encoding/json refuses, and a body of them alone was taken for an empty one.
	trimmed := bytes.Trim(body, jsonSpace)
	if len(trimmed) == 0 {
		body, trimmed = []byte("{}"), []byte("{}")
	}
	if trimmed[0] != '{' {
		return &apiError{kind: errMalformedJSON, detail: "the body is not a JSON object"} // null, too
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil {
		if _, terr := dec.Token(); terr != io.EOF {
			return &apiError{kind: errMalformedJSON, detail: "the body holds more than one JSON value"}
		}
		return exactMembers(body, reflect.TypeOf(v))
	}
	var (
		syntax    *json.SyntaxError
		wrongType *json.UnmarshalTypeError
	)
	switch {
	case errors.As(err, &wrongType) && wrongType.Field == "":
		return &apiError{kind: errMalformedJSON, detail: "the body is not a JSON object"}
	case errors.As(err, &wrongType):
		// encoding/json has read the whole value before it found the type wrong, so the body is
		// JSON: a member in another case ("VERSION": "x" taken as version) is what to name.
		if merr := exactMembers(body, reflect.TypeOf(v)); merr != nil {
			return merr
		}
		field := wrongType.Field
		if !safeName.MatchString(field) {
			field = ""
		}
		return &apiError{kind: errInvalidValue, field: field, detail: "want " + jsonType(wrongType.Type.Kind().String())}
	case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return &apiError{kind: errMalformedJSON, detail: "the body is not a JSON object"}
	}
	if name, ok := strings.CutPrefix(err.Error(), "json: unknown field "); ok {
		name = strings.Trim(name, `"`)
		if !safeName.MatchString(name) {
			name = "" // input: echoed only when it is a plain name
		}
		return &apiError{kind: errUnknownField, field: name, detail: "remove the member: the endpoint does not take it"}
	}
	return &apiError{kind: errMalformedJSON, detail: "the body is not the JSON object the endpoint takes"}
}

// safeName is what a member name must look like to be echoed in a problem.
var safeName = regexp.MustCompile(`^[A-Za-z0-9_.\[\]]{1,64}$`)

// jsonType names a Go kind as JSON does.
func jsonType(kind string) string {
	switch {
	case strings.HasPrefix(kind, "int"), strings.HasPrefix(kind, "uint"), strings.HasPrefix(kind, "float"):
		return "a number"
	case kind == "string":
		return "a string"
	case kind == "bool":
		return "true or false"
	case kind == "slice", kind == "array":
		return "an array"
	}
	return "an object"
}

// version checks a step's version: every step names the version it acts on.
func version(v uint64) error {
	if v == 0 {
		return badValue("version", "give the version of the session the step acts on (the version of the last answer)")
	}
	return nil
}

// stepAnswer is the answer of a step that returns a view.
func (a *API) stepAnswer(v flows.View, err error) (answer, error) {
	if err != nil {
		return answer{}, err
	}
	return answer{status: http.StatusOK, body: a.sessionJSON(v), view: &v}, nil
}

type startRequest struct {
	Phone         string    `json:"phone"`
	Attestation   string    `json:"attestation"`
	Attendee      *refJSON  `json:"attendee"`
	Lead          *leadJSON `json:"lead"`
	Engagement    string    `json:"engagement"`
	ExternalID    string    `json:"external_id"`
	Channel       string    `json:"channel"`
	Authenticated bool      `json:"authenticated"`
	StartTime     string    `json:"start_time"`
}

type leadJSON struct {
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Company   string `json:"company"`
	Phone     string `json:"phone"`
	Email     string `json:"email"`
}

// start: POST /v1/sessions.
func (a *API) start(ctx context.Context, c *call, req *startRequest) (answer, error) {
	sr := flows.StartRequest{Actor: actor(c.r), Phone: req.Phone, Engagement: req.Engagement,
		ExternalID: req.ExternalID, Channel: req.Channel, Authenticated: req.Authenticated}
	switch req.Attestation {
	case "", "A", "B", "C":
	default:
		return answer{}, badValue("attestation", "the STIR/SHAKEN attestation is A, B or C")
	}
	if req.Attestation != "" && req.Phone == "" {
		return answer{}, badValue("attestation", "an attestation goes with a phone number")
	}
	// A caller id attested below the minimum (or not at all) suggests a match, never fills it
	// in: "C" > "B" > "A" as strings, and the weakest attestation is the greatest.
	sr.PhoneUntrusted = req.Phone != "" && a.minAttest != "" && (req.Attestation == "" || req.Attestation > a.minAttest)
	if req.Attendee != nil {
		sr.Attendee = flows.Ref{Object: req.Attendee.Object, ID: req.Attendee.ID}
		if sr.Attendee.IsZero() {
			return answer{}, badValue("attendee", "the attendee needs an object and an id")
		}
	}
	if l := req.Lead; l != nil {
		sr.Lead = &flows.Lead{FirstName: l.FirstName, LastName: l.LastName, Company: l.Company, Phone: l.Phone, Email: l.Email}
	}
	if req.StartTime != "" {
		t, err := time.Parse(time.RFC3339, req.StartTime)
		if err != nil {
			return answer{}, badValue("start_time", "give the start time as RFC 3339, e.g. 2026-11-25T09:00:00Z")
		}
		sr.StartTime = t
	}
	if c.idempotencyKey != "" {
		// The engine's key makes a repeated start create no second Lead and name the same
		// engagement. It is scoped to the API key: two clients' keys never meet.
		sum := sha256.Sum256([]byte(actor(c.r) + "\x00" + c.idempotencyKey))
		sr.Key = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	v, err := a.engine.Start(ctx, sr)
	if err != nil {
		return answer{}, err
	}
	return answer{status: http.StatusCreated, body: a.sessionJSON(v), view: &v, location: "/v1/sessions/" + v.Session}, nil
}

// getSession: GET /v1/sessions/{id}.
func (a *API) getSession(w http.ResponseWriter, r *http.Request) {
	v, err := a.engine.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	a.persons.remember(&v)
	writeJSON(w, r, http.StatusOK, "application/json", a.sessionJSON(v))
}

type versionRequest struct {
	Version uint64 `json:"version"`
}

type reasonRequest struct {
	Version uint64 `json:"version"`
	Reason  string `json:"reason"`
}

func (a *API) reason(ctx context.Context, c *call, req *reasonRequest) (answer, error) {
	if err := version(req.Version); err != nil {
		return answer{}, err
	}
	return a.stepAnswer(a.engine.SetReason(ctx, flows.ReasonRequest{Actor: actor(c.r), Session: c.session,
		Version: req.Version, Reason: req.Reason}))
}

type subjectRequest struct {
	Version    uint64 `json:"version"`
	Subject    string `json:"subject"`
	SearchType string `json:"search_type"`
}

func (a *API) subject(ctx context.Context, c *call, req *subjectRequest) (answer, error) {
	if err := version(req.Version); err != nil {
		return answer{}, err
	}
	var s flows.Subject
	switch req.Subject {
	case "self":
		s = flows.SubjectSelf
	case "other":
		s = flows.SubjectOther
	default:
		return answer{}, badValue("subject", "the subject is self (the caller) or other (someone the caller speaks for)")
	}
	return a.stepAnswer(a.engine.SetSubject(ctx, flows.SubjectRequest{Actor: actor(c.r), Session: c.session,
		Version: req.Version, Subject: s, SearchType: req.SearchType}))
}

type searchRequest struct {
	Version    uint64            `json:"version"`
	SearchType string            `json:"search_type"`
	Keywords   string            `json:"keywords"`
	Fields     map[string]string `json:"fields"`
}

// maxSearchFields bounds an object search's fields before the engine sees them.
const maxSearchFields = 32

func (a *API) search(ctx context.Context, c *call, req *searchRequest) (answer, error) {
	if err := version(req.Version); err != nil {
		return answer{}, err
	}
	if len(req.Fields) > maxSearchFields {
		return answer{}, badValue("fields", "give at most %d fields", maxSearchFields)
	}
	if req.Keywords != "" && len(req.Fields) > 0 {
		return answer{}, badValue("fields", "give keywords (a text search) or fields (an object search), not both")
	}
	return a.stepAnswer(a.engine.Search(ctx, flows.SearchRequest{Actor: actor(c.r), Session: c.session,
		Version: req.Version, SearchType: req.SearchType, Query: flows.Query{Keywords: req.Keywords, Fields: req.Fields}}))
}

type selectRequest struct {
	Version uint64 `json:"version"`
	Record  string `json:"record"`
}

func (a *API) selectRecord(ctx context.Context, c *call, req *selectRequest) (answer, error) {
	if err := version(req.Version); err != nil {
		return answer{}, err
	}
	if req.Record == "" {
		return answer{}, badValue("record", "give the id of one of the last search's results")
	}
	return a.stepAnswer(a.engine.Select(ctx, flows.SelectRequest{Actor: actor(c.r), Session: c.session,
		Version: req.Version, Record: req.Record}))
}

// maxAnswers bounds the answers of one request: a level asks a handful of questions.
const maxAnswers = 32

type answersRequest struct {
	Version uint64       `json:"version"`
	Answers []answerJSON `json:"answers"`
}

type answerJSON struct {
	Field    string `json:"field"`
	Value    string `json:"value"`
	DontKnow bool   `json:"dont_know"`
}

func (a *API) answers(ctx context.Context, c *call, req *answersRequest) (answer, error) {
	if err := version(req.Version); err != nil {
		return answer{}, err
	}
	if len(req.Answers) == 0 || len(req.Answers) > maxAnswers {
		return answer{}, badValue("answers", "give 1 to %d answers", maxAnswers)
	}
	refund, err := a.limitPerson(ctx, c.session, req.Version)
	if err != nil {
		return answer{}, err
	}
	answers := make([]flows.Answer, len(req.Answers))
	for i, x := range req.Answers {
		answers[i] = flows.Answer{Field: x.Field, Value: x.Value, DontKnow: x.DontKnow}
	}
	v, err := a.engine.Answer(ctx, flows.AnswerRequest{Actor: actor(c.r), Session: c.session, Version: req.Version, Answers: answers})
	if err != nil {
		refund() // nothing was judged
	}
	return a.stepAnswer(v, err)
}

type attestationsRequest struct {
	Version      uint64            `json:"version"`
	Attestations []attestationJSON `json:"attestations"`
}

type attestationJSON struct {
	Field    string `json:"field"`
	Correct  bool   `json:"correct"`
	DontKnow bool   `json:"dont_know"`
}

func (a *API) attestations(ctx context.Context, c *call, req *attestationsRequest) (answer, error) {
	if err := version(req.Version); err != nil {
		return answer{}, err
	}
	if len(req.Attestations) == 0 || len(req.Attestations) > maxAnswers {
		return answer{}, badValue("attestations", "give 1 to %d attestations", maxAnswers)
	}
	refund, err := a.limitPerson(ctx, c.session, req.Version)
	if err != nil {
		return answer{}, err
	}
	atts := make([]flows.Attestation, len(req.Attestations))
	for i, x := range req.Attestations {
		atts[i] = flows.Attestation{Field: x.Field, Correct: x.Correct, DontKnow: x.DontKnow}
	}
	v, err := a.engine.Attest(ctx, flows.AttestRequest{Actor: actor(c.r), Session: c.session, Version: req.Version, Attestations: atts})
	if err != nil {
		refund() // nothing was judged
	}
	return a.stepAnswer(v, err)
}

func (a *API) notIdentified(ctx context.Context, c *call, req *versionRequest) (answer, error) {
	if err := version(req.Version); err != nil {
		return answer{}, err
	}
	return a.stepAnswer(a.engine.NotIdentified(ctx, flows.NotIdentifiedRequest{Actor: actor(c.r), Session: c.session,
		Version: req.Version}))
}

func (a *API) cancel(ctx context.Context, c *call, req *versionRequest) (answer, error) {
	if err := version(req.Version); err != nil {
		return answer{}, err
	}
	return a.stepAnswer(a.engine.Cancel(ctx, flows.CancelRequest{Actor: actor(c.r), Session: c.session,
		Version: req.Version}))
}

// limitPerson takes one answer step from the limit of the session's person: the person of the
// session at version, which the API remembers from the answers it gave, or else reads. refund
// gives the step back, for a step that judged nothing (the engine refused it).
func (a *API) limitPerson(ctx context.Context, session string, version uint64) (refund func(), err error) {
	person, ok := a.persons.lookup(session, version)
	if !ok {
		// The engine's Person, not Get: no expiry recorded and no CRM call for revealed
		// values before the limit is even applied.
		var err error
		if person, _, err = a.engine.Person(ctx, session); err != nil {
			return nil, err
		}
	}
	if person == "" {
		return func() {}, nil // not at the questions: the step will say so
	}
	refund, wait, ok := a.limits.person(person)
	if !ok {
		a.metrics.Limited("person")
		return nil, &apiError{kind: errRateLimited, retryAfter: wait,
			detail: "too many answers for this person: wait before answering again"}
	}
	return refund, nil
}
