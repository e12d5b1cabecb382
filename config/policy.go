package config

import (
	"fmt"
	"slices"

	"github.com/idverify/idverify/flows"
)

// Policy converts the verification part of c into the engine's flows.Policy. It validates c
// first and returns its Problems if there are any; a returned Policy also passes
// flows.Policy.Validate. Defaults the file leaves implicit are made explicit: a verifier's
// mode is attest, its reveal full for attest and none for check, and a disabled
// representation rule becomes the zero (checking nothing) RepresentationRule.
func (c *Config) Policy() (flows.Policy, error) {
	if err := c.Validate(); err != nil {
		return flows.Policy{}, err
	}
	p := flows.Policy{
		Reasons:     make([]flows.Reason, 0, len(c.Reasons)),
		SearchTypes: make([]flows.SearchType, 0, len(c.SearchTypes)),
		Lockout:     flows.Lockout{MaxFailures: c.Lockout.MaxFailures, Window: c.Lockout.Window},
		Session:     flows.SessionLimits{IdleTimeout: c.Session.IdleTimeout, MaxRetries: c.Session.MaxRetries},
		VerifiedTTL: c.VerifiedTTL,
		Verdicts:    flows.Verdicts(c.Verdicts),
		Matching: flows.Matching{
			DateOrder:          flows.DateOrder(c.Matching.DateOrder),
			DefaultCountryCode: c.Matching.DefaultCountryCode,
			Languages:          make([]flows.Language, 0, len(c.Matching.Languages)),
		},
	}
	for _, l := range c.Matching.Languages {
		p.Matching.Languages = append(p.Matching.Languages, flows.Language(l))
	}
	for _, r := range c.Reasons {
		p.Reasons = append(p.Reasons, flows.Reason{Name: r.Name, Confidential: r.Confidential})
	}
	for _, h := range c.Events.Webhooks {
		sub := flows.Subscription{Name: h.Name}
		for _, e := range h.Events {
			if t, ok := flows.ParseEventType(e); ok && !slices.Contains(sub.Events, t) {
				sub.Events = append(sub.Events, t)
			}
		}
		p.Events = append(p.Events, sub)
	}
	for _, s := range c.SearchTypes {
		p.SearchTypes = append(p.SearchTypes, flows.SearchType{
			Name:               s.Name,
			Label:              s.Label,
			Object:             s.Object,
			Search:             flows.SearchKind(s.Search),
			Filter:             s.Filter,
			SortBy:             s.SortBy,
			SearchFields:       slices.Clone(s.SearchFields),
			ResultFields:       slices.Clone(s.ResultFields),
			MaskedResultFields: slices.Clone(s.MaskedResultFields),
			Required:           verifiers(s.RequiredVerifiers),
			Optional:           verifiers(s.OptionalVerifiers),
			OptionalMin:        s.OptionalMin,
			Linked:             s.LinkedSearchType,
		})
	}
	if r := c.Representation; r.Enabled {
		p.Representation = flows.RepresentationRule{
			Object:              r.Object,
			RepresentativeField: r.RepresentativeField,
			CustomerField:       r.CustomerField,
			Roles:               slices.Clone(r.Roles),
			RequireActive:       r.RequireActive,
		}
	}
	if err := p.Validate(); err != nil {
		// Validate above should have caught everything; this is flows' backstop disagreeing.
		return flows.Policy{}, fmt.Errorf("config: the policy is valid here but not to the engine: %w", err)
	}
	return p, nil
}

func verifiers(vs []Verifier) []flows.Verifier {
	out := make([]flows.Verifier, 0, len(vs))
	for _, v := range vs {
		mode := flows.ModeAttest
		if v.Mode != "" {
			mode = flows.Mode(v.Mode)
		}
		reveal := flows.Reveal(v.Reveal)
		if reveal == "" {
			reveal = flows.RevealFull
			if mode == flows.ModeCheck {
				reveal = flows.RevealNone
			}
		}
		out = append(out, flows.Verifier{
			Field:  v.Field,
			Label:  v.Label,
			Match:  flows.MatchRule(v.Match),
			Mode:   mode,
			Reveal: reveal,
			Digits: v.Digits,
		})
	}
	return out
}
