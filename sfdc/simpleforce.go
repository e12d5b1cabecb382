package sfdc

import (
	"context"

	"github.com/simpleforce/simpleforce"
)

// SimpleforceAuth is an AuthSession that shares the session of a logged-in *simpleforce.Client:
// its GetSid and GetLoc are the first session, and when Salesforce refuses that session, relogin
// logs sf in again (e.g. with sf.LoginPassword) and sf's new session is used. sfdc calls relogin
// from one goroutine at a time; code that uses sf meanwhile must not race with it.
func SimpleforceAuth(sf *simpleforce.Client, relogin func(ctx context.Context, sf *simpleforce.Client) error) Auth {
	return Auth{
		Method:  AuthSession,
		Session: Session{AccessToken: sf.GetSid(), InstanceURL: sf.GetLoc()},
		Refresh: func(ctx context.Context, _ Session) (Session, error) {
			if err := relogin(ctx, sf); err != nil {
				return Session{}, err
			}
			return Session{AccessToken: sf.GetSid(), InstanceURL: sf.GetLoc()}, nil
		},
	}
}
