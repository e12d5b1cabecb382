// Package sfdc is a Salesforce REST client that knows nothing about verification: OAuth (or a
// session obtained elsewhere) with one shared token, retries that know Salesforce's error codes
// and which requests are safe to resend, typed errors, SOQL and SOSL builders that make
// injection impossible by construction, sObject reads and writes, paged queries as iterators,
// search, composite, collections, Bulk API 2.0 ingest jobs, describe and limits. Errors and log
// values never carry query literals, tokens or field values.
//
//	c, err := sfdc.New(sfdc.Config{Auth: sfdc.Auth{Method: sfdc.AuthJWT, ClientID: id,
//		Username: user, PrivateKeyFile: "key.pem"}})
//	q := sfdc.Select("Id", "Name").From("Contact").Where(sfdc.Eq("MobilePhone", phone)).Limit(2)
//	for rec, err := range c.Query(ctx, q) {
//		if err != nil {
//			return err // an *sfdc.Error: errors.Is(err, sfdc.ErrUnavailable) …
//		}
//		name, _ := rec.String("Name")
//	}
//
// # What every method returns
//
// A method that makes at most one API call returns its value (if it has one), a *Response and
// an error. The error is nil or an *Error, always, and errors.Is tells its kind: ErrBadQuery or
// ErrBadID for input refused before anything was sent, ErrDecode for an answer that does not fit
// the caller's type, the API kinds (ErrNotFound, ErrValidation, ErrUnavailable, …) for what
// Salesforce or the network answered, and context.Canceled or context.DeadlineExceeded for a call
// whose context ended (Config.Timeout gives a call with no deadline one). The *Response is nil
// exactly when no request was sent (refused input, a failed login, a context already ended, an
// answer from the describe cache); otherwise it holds the last status (0 when no answer came),
// the API usage and the attempts. On error the value is its zero value, except that Composite and
// the collection methods (CreateRecords, …), once Salesforce has answered, return their per-item
// results with the first failure. Methods that may make several calls report per item instead of with a *Response:
// queries yield one *Error and stop; collections give each record its result.
package sfdc
