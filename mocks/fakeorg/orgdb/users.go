package orgdb

// User is one of the org's users as New creates them: the integration user and the demo
// agents a person signs in as on the fake org's login page (the OAuth web server flow).
type User struct {
	Username, FirstName, LastName, Alias, Title string
	Profile                                     string // the Profile's Name
	TimeZone                                    string // TimeZoneSidKey
	Locale                                      string // LocaleSidKey
}

// Name is the user's full name, as the User's Name field holds it.
func (u User) Name() string { return u.FirstName + " " + u.LastName }

// profiles are the org's profiles. "System Administrator" and "Standard User" are standard
// profiles of every org; "Contact Center Supervisor" is the demo org's own (a custom profile,
// cloned from Standard User, as an org would make one).
var profiles = []struct{ name, description string }{
	{"System Administrator", "Standard profile: can configure and customize the application."},
	{"Standard User", "Standard profile: can create and edit most records."},
	{"Contact Center Supervisor", "The demo org's own profile, cloned from Standard User."},
}

// Users are the org's users, the integration user first. The agents' names are invented; their
// time zones differ so that a console shows each agent's own.
var Users = []User{
	{Username: IntegrationUsername, FirstName: "Demo", LastName: "Integration", Alias: "integ",
		Title: "Integration user", Profile: "System Administrator", TimeZone: "GMT", Locale: "en_US"},
	{Username: "agent1@demo.idverify.dev", FirstName: "Amara", LastName: "Okafor", Alias: "aokafor",
		Title: "Contact centre agent", Profile: "Standard User", TimeZone: "Europe/London", Locale: "en_GB"},
	{Username: "agent2@demo.idverify.dev", FirstName: "Ben", LastName: "Carter", Alias: "bcarter",
		Title: "Contact centre agent", Profile: "Standard User", TimeZone: "America/New_York", Locale: "en_US"},
	{Username: "agent3@demo.idverify.dev", FirstName: "Chloé", LastName: "Martin", Alias: "cmartin",
		Title: "Contact centre agent", Profile: "Standard User", TimeZone: "Europe/Paris", Locale: "fr_FR"},
	{Username: "supervisor@demo.idverify.dev", FirstName: "Dana", LastName: "Whitfield", Alias: "dwhitfie",
		Title: "Contact centre supervisor", Profile: "Contact Center Supervisor", TimeZone: "America/Los_Angeles", Locale: "en_US"},
}

// insertUsers creates the org's profiles and Users (neither is createable through the fake's
// API); the integration user gets the first User id, db.userID.
func (tx *Tx) insertUsers(ts string) {
	s := tx.db.schema
	prof, _ := s.Lookup("Profile")
	user, _ := s.Lookup("User")
	profileIDs := map[string]string{}
	for _, p := range profiles {
		id := tx.newID(prof)
		profileIDs[p.name] = id
		tx.insertRaw(prof, id, ts, rowValuesOf(prof, map[string]any{"Name": p.name, "Description": p.description}))
	}
	for _, u := range Users {
		id := tx.newID(user)
		tx.insertRaw(user, id, ts, rowValuesOf(user, map[string]any{
			"Username": u.Username, "FirstName": u.FirstName, "LastName": u.LastName, "Name": u.Name(),
			"Alias": u.Alias, "Email": u.Username, "Title": u.Title, "ProfileId": profileIDs[u.Profile],
			"IsActive": true, "UserType": "Standard", "TimeZoneSidKey": u.TimeZone, "LocaleSidKey": u.Locale,
			"LanguageLocaleKey": "en_US", "EmailEncodingKey": "UTF-8",
		}))
	}
}
