package httpapi

import (
	"errors"
	"net/http"
	"regexp"
	"time"

	"github.com/idverify/idverify/flows"
)

// engagementStatusJSON is an engagement's verified status, for the agent a call is transferred
// to: who was verified on it, in which role, and until when that holds.
type engagementStatusJSON struct {
	// Engagement is the engagement's name in idverify: its ExternalIdentifier, or its
	// Salesforce id when it has none.
	Engagement string `json:"engagement"`
	// Verified says someone's verification on the engagement still holds.
	Verified bool                 `json:"verified"`
	People   []verifiedPersonJSON `json:"people"`
}

type verifiedPersonJSON struct {
	Record     string    `json:"record"`
	Role       string    `json:"role"`
	Level      string    `json:"level"`
	VerifiedAt time.Time `json:"verified_at"`
	ValidUntil time.Time `json:"valid_until"`
}

var recordID = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)

// engagementStatus: GET /v1/engagements/status?external_id=… or ?id=… (its Salesforce id).
// The status is the engine's: the verified marks set on the engagement, still valid.
func (a *API) engagementStatus(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	ext, id := q.Get("external_id"), q.Get("id")
	var err error
	switch {
	case (ext == "") == (id == ""):
		err = badValue("external_id", "give exactly one of external_id (the CTI call id) and id (the Salesforce id)")
	case len(ext) > 255:
		err = badValue("external_id", "an external id takes at most 255 characters")
	case id != "" && !recordID.MatchString(id):
		err = badValue("id", "give the engagement's 15- or 18-character Salesforce id")
	}
	if err != nil {
		a.fail(w, r, err, "")
		return
	}
	ref := ext
	if id != "" {
		ref = id
		if a.engagements != nil {
			e, err := a.engagements.OpenEngagement(ctx, id)
			switch {
			case errors.Is(err, flows.ErrRecordNotFound):
				a.fail(w, r, &apiError{kind: flows.ErrRecordNotFound, field: "id", detail: "no engagement has that id"}, "")
				return
			case err != nil:
				a.fail(w, r, &apiError{kind: flows.ErrUnavailable, detail: "the engagement could not be read"}, "")
				a.log.WarnContext(ctx, "engagement not read", "err", err)
				return
			case e.ExternalID != "":
				ref = e.ExternalID
			}
		}
	}
	marks, err := a.engine.EngagementStatus(ctx, ref)
	if err != nil {
		a.fail(w, r, err, "external_id")
		return
	}
	out := engagementStatusJSON{Engagement: ref, Verified: len(marks) > 0, People: make([]verifiedPersonJSON, len(marks))}
	for i, m := range marks {
		out.People[i] = verifiedPersonJSON{Record: m.Person, Role: m.Role.String(), Level: m.Role.Level().String(),
			VerifiedAt: m.At.UTC(), ValidUntil: m.Until.UTC()}
	}
	writeJSON(w, r, http.StatusOK, "application/json", out)
}
