package httpapi

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
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

var (
	recordID = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)
	roles    = []flows.VerifiedRole{flows.VerifiedSelf, flows.VerifiedRepresentative, flows.VerifiedCustomer}
)

// maxStatusPeople bounds the people an engagement's status looks at.
const maxStatusPeople = 32

// engagementStatus: GET /v1/engagements/status?external_id=… or ?id=… (its Salesforce id).
func (a *API) engagementStatus(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	out, err := ReadEngagementStatus(r.Context(), a.store, a.engagements, a.clock.Now(), q.Get("external_id"), q.Get("id"))
	if err != nil {
		if errors.Is(err, flows.ErrUnavailable) && !errors.Is(err, errStore) {
			a.log.WarnContext(r.Context(), "engagement not read", "err", err)
		}
		a.fail(w, r, err, "", 0)
		return
	}
	writeJSON(w, r, http.StatusOK, "application/json", out)
}

// errStore marks a store's failure in ReadEngagementStatus, which the store's error says itself.
var errStore = errors.New("httpapi: the store failed")

// ReadEngagementStatus returns the verified status at now of the engagement named by exactly
// one of externalID (its ExternalIdentifier, the CTI call id) and id (its Salesforce id, which
// engagements, when not nil, resolves to its ExternalIdentifier). Bad input is an error
// wrapping ErrInvalidValue-like kinds the API maps to 422; an unknown id wraps
// flows.ErrRecordNotFound.
//
// The engine offers no status of an engagement; the store offers the verified mark of a
// person in a role. So the people are those the engagement's audit says passed a level (the
// steps that set a mark), and each one's marks are read for the three roles.
func ReadEngagementStatus(ctx context.Context, st Store, engagements EngagementReader, now time.Time, externalID, id string) (EngagementStatus, error) {
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
				return EngagementStatus{}, fmt.Errorf("%w: %w", &apiError{kind: flows.ErrUnavailable, detail: "the engagement could not be read"}, err)
			case e.ExternalID != "":
				ref = e.ExternalID
			}
		}
	}
	events, err := st.AuditByEngagement(ctx, ref)
	if err != nil {
		return EngagementStatus{}, fmt.Errorf("%w: %w", errStore, err)
	}
	var people []string
	for _, e := range events {
		if e.Person != "" && slices.Contains(strings.Fields(e.Rule), "passed") && !slices.Contains(people, e.Person) &&
			len(people) < maxStatusPeople {
			people = append(people, e.Person)
		}
	}
	out := EngagementStatus{Engagement: ref, People: []VerifiedPerson{}}
	for _, p := range people {
		for _, role := range roles {
			m, ok, err := st.Verified(ctx, flows.VerifiedKey{Engagement: ref, Person: p, Role: role}, now)
			if err != nil {
				return EngagementStatus{}, fmt.Errorf("%w: %w", errStore, err)
			}
			if ok {
				out.People = append(out.People, VerifiedPerson{Record: p, Role: role.String(), Level: role.Level().String(),
					VerifiedAt: m.At.UTC(), ValidUntil: m.Until.UTC()})
			}
		}
	}
	slices.SortStableFunc(out.People, func(x, y VerifiedPerson) int {
		return cmp.Compare(x.VerifiedAt.UnixNano(), y.VerifiedAt.UnixNano())
	})
	out.Verified = len(out.People) > 0
	return out, nil
}
