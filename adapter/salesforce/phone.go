package salesforce

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/idverify/idverify/flows"
	"github.com/idverify/idverify/sfdc"
)

// FindByPhone implements flows.CRM: one SOSL search (one API call),
//
//	FIND {442079460958 OR 2079460958} IN PHONE FIELDS RETURNING Account(Id, Phone, …), Contact(…)
//
// with the number reduced to its digits, as Salesforce's own search sample sends it ("Sample
// search Call", SOAP API Developer Guide), and, for a number in international form, its
// national significant number too (libphonenumber's, through nyaruka/phonenumbers), so that a
// number stored nationally with a trunk prefix (020 7946 0958) is found from the E.164 form a
// phone system presents (+44 20 7946 0958). A national number is also searched in its
// international form when Matching.DefaultCountryCode says which country it is from.
//
// In an org with person accounts, when both Account and Contact are searched, a person
// account's own contact is not returned besides the account (Contact WHERE IsPersonAccount =
// false): the account stands for the person, who would otherwise match twice.
//
// SOSL's PHONE scope searches every phone field of an object; a record is kept only when one
// of the fields configured for its object holds the number (compared by digits: equal, or one
// ends with the other's last seven digits or more). A number with anything but digits, spaces
// and + - ( ) . / is refused (flows.ErrInvalidInput): nothing is sent.
//
// The verifier fields of the search types on each object are read with the records and kept
// for the step that asks them (readahead.go).
func (a *Adapter) FindByPhone(ctx context.Context, phone string) ([]flows.Ref, error) {
	const op = "phone lookup"
	if len(a.opts.PhoneFields) == 0 {
		return nil, nil
	}
	terms, err := phoneTerms(phone, a.opts.Policy.Matching.DefaultCountryCode)
	if err != nil {
		return nil, &Error{Op: op, Kind: flows.ErrInvalidInput, Err: err}
	}
	returning := make([]sfdc.Returning, 0, len(a.opts.PhoneFields))
	for _, p := range a.opts.PhoneFields {
		fields := appendNew([]string{"Id"}, a.phoneBy[p.Object]...)
		if a.readsAhead() {
			fields = appendNew(fields, a.aheadBy[p.Object]...)
		}
		r := sfdc.Returning{Object: p.Object, Fields: fields}
		if p.Object == "Contact" && a.phoneBy["Account"] != nil && a.hasField(ctx, "Contact", "IsPersonAccount") {
			// A person account's contact holds its phones too: the Account stands for the person.
			r.Where = sfdc.Eq("IsPersonAccount", false)
		}
		returning = append(returning, r)
	}
	recs, _, err := a.c.Search(ctx, sfdc.FindDigits(terms...).In(sfdc.PhoneFields).Returning(returning...))
	if err != nil {
		return nil, fail(op, err)
	}
	var refs []flows.Ref
	for _, rec := range recs {
		object, id := rec.Type(), string(rec.ID())
		if !holdsNumber(rec, a.phoneBy[object], terms) {
			continue
		}
		refs = append(refs, flows.Ref{Object: object, ID: id})
		if a.readsAhead() {
			a.keepValues(rec, object, id, a.opts.ReadAheadTTL)
		}
	}
	return refs, nil
}

// keepValues keeps the verifier values of rec, which were read with it, for ttl.
func (a *Adapter) keepValues(rec sfdc.Record, object, id string, ttl time.Duration) {
	fields := a.aheadBy[object]
	if len(fields) == 0 {
		return
	}
	values := make(map[string]string, len(fields))
	for _, f := range fields {
		values[f] = text(rec, f)
	}
	a.ahead.putValues(object, id, values, ttl)
}

// phoneTerms returns the digit strings to search a phone number by: its digits as given, and
// for a number that libphonenumber reads (an international one, or a national one of the
// default country) its E.164 digits and its national significant number.
func phoneTerms(phone, defaultCountryCode string) ([]string, error) {
	var digits []byte
	for i := 0; i < len(phone); i++ {
		switch c := phone[i]; {
		case c >= '0' && c <= '9':
			digits = append(digits, c)
		case strings.IndexByte(" +-().//", c) >= 0:
		default:
			return nil, errors.New("a phone number holds digits, spaces and + - ( ) . / only")
		}
	}
	if len(digits) < 3 || len(digits) > 30 {
		return nil, errors.New("a phone number needs 3 to 30 digits")
	}
	terms := []string{string(digits)}
	region := ""
	if cc, err := strconv.Atoi(defaultCountryCode); err == nil {
		region = phonenumbers.GetRegionCodeForCountryCode(cc)
	}
	trimmed := strings.TrimSpace(phone)
	if !strings.HasPrefix(trimmed, "+") && region == "" {
		return terms, nil
	}
	num, err := phonenumbers.Parse(trimmed, region)
	if err != nil {
		return terms, nil // not a number libphonenumber reads: search by its digits alone
	}
	e164 := strings.TrimPrefix(phonenumbers.Format(num, phonenumbers.E164), "+")
	terms = appendNew(terms, e164, phonenumbers.GetNationalSignificantNumber(num))
	for i := len(terms) - 1; i >= 0; i-- {
		if len(terms[i]) < 2 || strings.Trim(terms[i], "0123456789") != "" {
			terms = append(terms[:i], terms[i+1:]...)
		}
	}
	return terms, nil
}

// holdsNumber reports whether one of fields of rec holds one of the numbers terms: the same
// digits, or one ending with the other, the shorter having seven digits or more (a number with
// and without its country code or trunk prefix).
func holdsNumber(rec sfdc.Record, fields, terms []string) bool {
	for _, f := range fields {
		stored := onlyDigits(text(rec, f))
		if stored == "" {
			continue
		}
		for _, t := range terms {
			long, short := stored, t
			if len(long) < len(short) {
				long, short = short, long
			}
			if long == short || len(short) >= 7 && strings.HasSuffix(long, short) {
				return true
			}
		}
	}
	return false
}

func onlyDigits(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] >= '0' && s[i] <= '9' {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}
