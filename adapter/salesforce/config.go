package salesforce

import (
	"github.com/idverify/idverify/config"
	"github.com/idverify/idverify/sfdc"
)

// OptionsFrom returns the adapter's Options for a loaded configuration: its policy (through
// cfg.Policy, which validates cfg), phone_fields and the salesforce section's adapter keys.
func OptionsFrom(cfg *config.Config) (Options, error) {
	policy, err := cfg.Policy()
	if err != nil {
		return Options{}, err
	}
	o := Options{
		Policy:            policy,
		LeadKeyField:      cfg.Salesforce.LeadKeyField,
		WritebackKeyField: cfg.Salesforce.WritebackKeyField,
		DefaultChannel:    cfg.Salesforce.DefaultChannel,
		ReadAheadTTL:      cfg.Salesforce.ReadAheadTTL,
	}
	if o.ReadAheadTTL == 0 {
		o.ReadAheadTTL = -1 // 0 in the file turns read-ahead off; 0 in Options means the default
	}
	for _, p := range cfg.PhoneFields {
		o.PhoneFields = append(o.PhoneFields, PhoneFields{Object: p.Object, Fields: p.Fields})
	}
	return o, nil
}

// ClientConfig returns the sfdc client configuration for the salesforce section of a
// configuration that names a real org (s.Embedded() is false).
func ClientConfig(s config.Salesforce) sfdc.Config {
	c := sfdc.Config{
		APIVersion: s.APIVersion,
		Timeout:    s.Timeout,
		Auth: sfdc.Auth{
			Method:        sfdc.AuthMethod(s.Auth),
			LoginURL:      s.LoginURL,
			ClientID:      s.ClientID,
			ClientSecret:  s.ClientSecret.Value(),
			Username:      s.Username,
			Password:      s.Password.Value(),
			SecurityToken: s.SecurityToken.Value(),
			RefreshToken:  s.RefreshToken.Value(),
		},
	}
	if s.PrivateKey != "" { // Load read private_key_file into it
		c.Auth.PrivateKeyPEM = []byte(s.PrivateKey.Value())
	} else {
		c.Auth.PrivateKeyFile = s.PrivateKeyFile
	}
	return c
}
