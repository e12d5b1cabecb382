package flows

// FlipMACByte returns session data with byte i of the stored HMAC of the current level's
// question q flipped, as an attacker (or a corruption) with write access to the store would
// leave it.
func FlipMACByte(data []byte, q, i int) ([]byte, error) {
	s, err := decodeSession(data)
	if err != nil {
		return nil, err
	}
	s.levels[s.level].questions[q].mac[i] ^= 0x01
	return s.encode(nil), nil
}
