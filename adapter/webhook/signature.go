package webhook

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// SignatureHeader is the header that carries an event's signature:
//
//	Idverify-Signature: t=1764582000,v1=5257a869e7ecebeda32affa62cdca3fa51cad7e77a0e56ff536d0ce8e108d8bd
//
// t is when the delivery was signed (Unix seconds) and v1 the hex HMAC-SHA256, keyed with the
// webhook's secret, of t, a full stop and the request body, byte for byte: the scheme Stripe
// signs its webhooks with (https://docs.stripe.com/webhooks#verify-manually). A header may
// hold several v1 values (while a secret is rotated); one that matches is enough.
const SignatureHeader = "Idverify-Signature"

// DefaultTolerance is how far a signature's time may lie from the receiver's clock: older
// deliveries are refused as replays (Stripe's default is the same five minutes).
const DefaultTolerance = 5 * time.Minute

// The reasons Verify refuses a delivery.
var (
	// ErrNoSignature: the header is missing or is not t=…,v1=….
	ErrNoSignature = errors.New("webhook: no valid signature header")
	// ErrSignatureMismatch: no v1 value is the signature of this body at this time with this
	// secret (a wrong secret, or a body or time changed on the way).
	ErrSignatureMismatch = errors.New("webhook: signature does not match")
	// ErrTimestamp: the signature's time is outside the tolerance (a replay, or a clock off).
	ErrTimestamp = errors.New("webhook: signature time outside the tolerance")
)

// Sign returns the SignatureHeader value of body sent at t with secret.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	return "t=" + ts + ",v1=" + hex.EncodeToString(mac(secret, ts, body))
}

func mac(secret []byte, ts string, body []byte) []byte {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts))
	m.Write([]byte{'.'})
	m.Write(body)
	return m.Sum(nil)
}

// Verify checks a delivery as a receiver should, before it trusts or parses the body: header is
// the SignatureHeader value, body the raw request body (not re-encoded JSON), now the
// receiver's clock and tolerance how far the signature's time may lie from it (0 means
// DefaultTolerance). The signature is compared in constant time. It returns nil, or one of
// ErrNoSignature, ErrSignatureMismatch and ErrTimestamp. A receiver should also drop an event
// whose id it has already processed: a delivery may come more than once.
func Verify(secret []byte, header string, body []byte, now time.Time, tolerance time.Duration) error {
	if tolerance <= 0 {
		tolerance = DefaultTolerance
	}
	var (
		ts   string
		sigs [][]byte
	)
	for part := range strings.SplitSeq(header, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(part), "=")
		switch {
		case !ok:
			return ErrNoSignature
		case k == "t" && ts == "":
			ts = v
		case k == "v1":
			if sig, err := hex.DecodeString(v); err == nil && len(sig) == sha256.Size {
				sigs = append(sigs, sig)
			}
		}
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || len(sigs) == 0 {
		return ErrNoSignature
	}
	want := mac(secret, ts, body)
	match := false
	for _, sig := range sigs {
		match = hmac.Equal(sig, want) || match // every value compared: no early exit
	}
	if !match {
		return ErrSignatureMismatch
	}
	if d := now.Sub(time.Unix(sec, 0)); d > tolerance || d < -tolerance {
		return ErrTimestamp
	}
	return nil
}
