package httpapi

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"time"

	"github.com/idverify/idverify/flows"
)

// EngagementStatus is an engagement's verified status, for the agent a call is transferred to:
// who was verified on it, in which role, and until when that holds. The JSON API answers it as
// it is; the console shows it.
type EngagementStatus struct {
	// Engagement is the engagement's name in idverify: its ExternalIdentifier, or its
	// Salesforce id when it has none.
	Engagement string `json:"engagement"`
	// Verified says someone's verification on the engagement still holds.
	Verified bool             `json:"verified"`
	People   []VerifiedPerson `json:"people"`
}

// VerifiedPerson is one person's verified mark on an engagement.
type VerifiedPerson struct {
	Record     string    `json:"record"`
	Role       string    `json:"role"`
	Level      string    `json:"level"`
	VerifiedAt time.Time `json:"verified_at"`
	ValidUntil time.Time `json:"valid_until"`
}

var recordID = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)

// engagementStatus: GET /v1/engagements/status?external_id=… or ?id=… (its Salesforce id).
func (a *API) engagementStatus(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out, err := ReadEngagementStatus(r.Context(), a.engine, a.engagements, q.Get("external_id"), q.Get("id"))
	if err != nil {
		if errors.Is(err, errEngagementRead) {
			a.log.WarnContext(r.Context(), "engagement not read", "err", err)
		}
		a.fail(w, r, err, "external_id")
		return
	}
	writeJSON(w, r, http.StatusOK, "application/json", out)
}

// errEngagementRead marks the CRM's failure to read an engagement in ReadEngagementStatus.
var errEngagementRead = errors.New("httpapi: the engagement could not be read")

// ReadEngagementStatus returns the verified status now of the engagement named by exactly one
// of externalID (its ExternalIdentifier, the CTI call id) and id (its Salesforce id, which
// engagements, when not nil, resolves to its ExternalIdentifier): the engine's
// EngagementStatus, the engagement's verified marks still valid, oldest first. Bad input is an
// error the API maps to 422; an unknown id wraps flows.ErrRecordNotFound.
func ReadEngagementStatus(ctx context.Context, engine *flows.Engine, engagements EngagementReader, externalID, id string) (EngagementStatus, error) {
	switch {
	case (externalID == "") == (id == ""):
		return EngagementStatus{}, badValue("external_id", "give exactly one of external_id (the CTI call id) and id (the Salesforce id)")
	case len(externalID) > 255:
		return EngagementStatus{}, badValue("external_id", "an external id takes at most 255 characters")
	case id != "" && !recordID.MatchString(id):
		return EngagementStatus{}, badValue("id", "give the engagement's 15- or 18-character Salesforce id")
	}
	ref := externalID
	if id != "" {
		ref = id
		if engagements != nil {
			e, err := engagements.OpenEngagement(ctx, id)
			switch {
			case errors.Is(err, flows.ErrRecordNotFound):
				return EngagementStatus{}, &apiError{kind: flows.ErrRecordNotFound, field: "id", detail: "no engagement has that id"}
			case err != nil:
				return EngagementStatus{}, fmt.Errorf("%w: %w: %w",
					&apiError{kind: flows.ErrUnavailable, detail: "the engagement could not be read"}, errEngagementRead, err)
			case e.ExternalID != "":
				ref = e.ExternalID
			}
		}
	}
	marks, err := engine.EngagementStatus(ctx, ref)
	if err != nil {
		return EngagementStatus{}, err
	}
	out := EngagementStatus{Engagement: ref, Verified: len(marks) > 0, People: make([]VerifiedPerson, len(marks))}
	for i, m := range marks {
		out.People[i] = VerifiedPerson{Record: m.Person, Role: m.Role.String(), Level: m.Role.Level().String(),
			VerifiedAt: m.At.UTC(), ValidUntil: m.Until.UTC()}
	}
	return out, nil
}
