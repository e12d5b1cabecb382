package httpapi

import (
	"cmp"
	"errors"
	"net/http"
	"regexp"
	"slices"
	"strings"
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

var (
	recordID = regexp.MustCompile(`^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$`)
	roles    = []flows.VerifiedRole{flows.VerifiedSelf, flows.VerifiedRepresentative, flows.VerifiedCustomer}
)

// maxStatusPeople bounds the people an engagement's status looks at.
const maxStatusPeople = 32

// engagementStatus: GET /v1/engagements/status?external_id=… or ?id=… (its Salesforce id).
//
// The engine offers no status of an engagement; the store offers the verified mark of a
// person in a role. So the people are those the engagement's audit says passed a level (the
// steps that set a mark), and each one's marks are read for the three roles.
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
		a.fail(w, r, err, "", 0)
		return
	}
	ref := ext
	if id != "" {
		ref = id
		if a.engagements != nil {
			e, err := a.engagements.OpenEngagement(ctx, id)
			switch {
			case errors.Is(err, flows.ErrRecordNotFound):
				a.fail(w, r, &apiError{kind: flows.ErrRecordNotFound, field: "id", detail: "no engagement has that id"}, "", 0)
				return
			case err != nil:
				a.fail(w, r, &apiError{kind: flows.ErrUnavailable, detail: "the engagement could not be read"}, "", 0)
				a.log.WarnContext(ctx, "engagement not read", "err", err)
				return
			case e.ExternalID != "":
				ref = e.ExternalID
			}
		}
	}
	events, err := a.store.AuditByEngagement(ctx, ref)
	if err != nil {
		a.fail(w, r, err, "", 0)
		return
	}
	var people []string
	for _, e := range events {
		if e.Person != "" && slices.Contains(strings.Fields(e.Rule), "passed") && !slices.Contains(people, e.Person) &&
			len(people) < maxStatusPeople {
			people = append(people, e.Person)
		}
	}
	out := engagementStatusJSON{Engagement: ref, People: []verifiedPersonJSON{}}
	now := a.clock.Now()
	for _, p := range people {
		for _, role := range roles {
			m, ok, err := a.store.Verified(ctx, flows.VerifiedKey{Engagement: ref, Person: p, Role: role}, now)
			if err != nil {
				a.fail(w, r, err, "", 0)
				return
			}
			if ok {
				out.People = append(out.People, verifiedPersonJSON{Record: p, Role: role.String(), Level: role.Level().String(),
					VerifiedAt: m.At.UTC(), ValidUntil: m.Until.UTC()})
			}
		}
	}
	slices.SortStableFunc(out.People, func(x, y verifiedPersonJSON) int {
		return cmp.Compare(x.VerifiedAt.UnixNano(), y.VerifiedAt.UnixNano())
	})
	out.Verified = len(out.People) > 0
	writeJSON(w, r, http.StatusOK, "application/json", out)
}
