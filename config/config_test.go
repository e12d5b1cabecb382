package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

func TestSecretsNeverPrint(t *testing.T) {
	const secret = "s3cr3t-value"
	c := valid()
	c.Secrets.HMACKey = secret
	c.Salesforce.ClientSecret = secret
	c.Salesforce.Password = secret
	c.Salesforce.SecurityToken = secret
	c.Salesforce.RefreshToken = secret
	c.Salesforce.PrivateKey = secret
	c.Store.DSN = "postgres://u:" + secret + "@db/x"

	jsonText, err := json.Marshal(c)
	require.NoError(t, err)
	yamlText, err := yaml.Marshal(c)
	require.NoError(t, err)
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("config", "config", c, "key", c.Secrets.HMACKey)

	outputs := map[string]string{
		"%v":   fmt.Sprintf("%v", c),
		"%+v":  fmt.Sprintf("%+v", c),
		"%#v":  fmt.Sprintf("%#v", c),
		"%s":   fmt.Sprintf("%s", c.Secrets.HMACKey),
		"%q":   fmt.Sprintf("%q", c.Secrets.HMACKey),
		"%x":   fmt.Sprintf("%x", c.Secrets.HMACKey),
		"%d":   fmt.Sprintf("%d", c.Secrets.HMACKey),
		"json": string(jsonText),
		"yaml": string(yamlText),
		"slog": logged.String(),
	}
	for name, out := range outputs {
		assert.NotContains(t, out, secret, name)
		assert.NotContains(t, out, fmt.Sprintf("%x", secret), name)
	}
	assert.Contains(t, outputs["%+v"], "HMACKey:[redacted]")
	assert.Contains(t, outputs["%#v"], `HMACKey:"[redacted]"`)
	assert.Contains(t, outputs["yaml"], "[redacted]")
	assert.Equal(t, secret, c.Secrets.HMACKey.Value())
}

func TestEmptySecretPrintsEmpty(t *testing.T) {
	var s Secret
	assert.Equal(t, "", s.String())
	assert.Equal(t, "", fmt.Sprint(s))
	assert.Equal(t, "[redacted]", Secret("x").String())
}

// docs/CONFIGURATION.md documents every key: its environment variable, and every key of the
// sections inside lists.
func TestConfigurationDocMentionsEveryKey(t *testing.T) {
	doc, err := os.ReadFile(filepath.Join("..", "docs", "CONFIGURATION.md"))
	require.NoError(t, err)
	text := string(doc)
	for _, key := range Keys() {
		assert.Contains(t, text, "`"+EnvName(key)+"`", "environment variable of %s", key)
	}
	for _, elem := range []reflect.Type{reflect.TypeFor[Reason](), reflect.TypeFor[SearchType](),
		reflect.TypeFor[Verifier](), reflect.TypeFor[PhoneFields](), reflect.TypeFor[APIKey]()} {
		for f := range elem.Fields() {
			assert.Regexp(t, "`([a-z_]+(\\[\\])?\\.)?"+f.Tag.Get("mapstructure")+"`", text, "%s.%s", elem.Name(), f.Name)
		}
	}
}
