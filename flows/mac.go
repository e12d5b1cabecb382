package flows

import (
	"crypto/hmac"
	"crypto/sha256"
	"hash"
	"slices"
	"sync"
)

// macKey computes HMAC-SHA256 under one secret. The engine hashes every check-mode value on the
// hot path, so keyed hash states are pooled: a reused state starts from its saved keyed
// state, and nothing is allocated per use.
type macKey struct {
	pool sync.Pool
}

type macState struct {
	h        hash.Hash
	msg, sum []byte
}

func newMACKey(secret []byte) *macKey {
	secret = slices.Clone(secret)
	k := &macKey{}
	k.pool.New = func() any { return &macState{h: hmac.New(sha256.New, secret)} }
	return k
}

// sum returns HMAC-SHA256(secret, a 0x00 b 0x00 c): a value bound to its session and field,
// so equal values in different sessions or fields hash differently.
func (k *macKey) sum(a, b string, c []byte) [sha256.Size]byte {
	st := k.pool.Get().(*macState)
	st.h.Reset()
	st.msg = append(append(append(append(append(st.msg[:0], a...), 0), b...), 0), c...)
	st.h.Write(st.msg)
	st.sum = st.h.Sum(st.sum[:0])
	var out [sha256.Size]byte
	copy(out[:], st.sum)
	clear(st.msg) // the message holds a normalised answer: keep no copy of it
	k.pool.Put(st)
	return out
}
