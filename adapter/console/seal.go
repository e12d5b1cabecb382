package console

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
)

// sealer encrypts and authenticates what the console hands the browser (its cookies, the
// handles of sessions in its URLs) with AES-256-GCM under a key derived from Config.Key, so
// that the browser can neither read nor forge them, and any replica with the same key can
// open them. Each purpose has its own key, so a value sealed for one is no value of another.
type sealer struct{ aead cipher.AEAD }

func newSealer(key []byte, purpose string) sealer {
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte("idverify console: " + purpose))
	block, err := aes.NewCipher(mac.Sum(nil))
	if err != nil {
		panic(err) // a 32-byte key is always a valid AES key
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		panic(err)
	}
	return sealer{aead: aead}
}

// seal returns plain encrypted, as base64url text.
func (s sealer) seal(plain []byte) string {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plain)+s.aead.Overhead())
	_, _ = rand.Read(nonce)
	return base64.RawURLEncoding.EncodeToString(s.aead.Seal(nonce, nonce, plain, nil))
}

var errUnsealed = errors.New("console: not a value this console sealed")

// maxSealed bounds what open decodes: the console's values are small, a bigger one is not ours.
const maxSealed = 4096

// open returns what seal sealed into text.
func (s sealer) open(text string) ([]byte, error) {
	if len(text) > maxSealed {
		return nil, errUnsealed
	}
	b, err := base64.RawURLEncoding.DecodeString(text)
	if err != nil || len(b) < s.aead.NonceSize()+s.aead.Overhead() {
		return nil, errUnsealed
	}
	n := s.aead.NonceSize()
	plain, err := s.aead.Open(nil, b[:n], b[n:], nil)
	if err != nil {
		return nil, errUnsealed
	}
	return plain, nil
}

// sealJSON seals v as JSON: every value the console seals is a small struct.
func (s sealer) sealJSON(v any) string {
	plain, _ := json.Marshal(v) // the console's sealed structs always marshal
	return s.seal(plain)
}

// openJSON opens text, sealed by sealJSON, into v.
func (s sealer) openJSON(text string, v any) error {
	plain, err := s.open(text)
	if err != nil {
		return err
	}
	return json.Unmarshal(plain, v)
}

// openCookie opens the request's cookie name, sealed by sealJSON, into v; http.ErrNoCookie
// when there is none.
func (s sealer) openCookie(r *http.Request, name string, v any) error {
	ck, err := r.Cookie(name)
	if err != nil {
		return err
	}
	return s.openJSON(ck.Value, v)
}
