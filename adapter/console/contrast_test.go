package console

import (
	"math"
	"regexp"
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The stylesheet's text colours meet WCAG 2.2 AA (contrast ratio at least 4.5:1) on the
// backgrounds they are used on (https://www.w3.org/TR/WCAG22/#contrast-minimum), and the focus
// ring is visible on any of them (3:1, https://www.w3.org/TR/WCAG22/#non-text-contrast): its
// yellow against its dark edge, the dark edge against the page.
func TestContrast(t *testing.T) {
	css, err := staticFS.ReadFile("static/console.css")
	require.NoError(t, err)
	vars := map[string]string{}
	for _, m := range regexp.MustCompile(`--([a-z-]+):\s*(#[0-9a-fA-F]{6})`).FindAllStringSubmatch(string(css), -1) {
		vars[m[1]] = m[2]
	}
	for _, tt := range []struct {
		fg, bg string
		min    float64
	}{
		{"ink", "bg", 4.5}, {"ink", "card", 4.5}, {"muted", "bg", 4.5}, {"muted", "card", 4.5},
		{"brand", "bg", 4.5}, {"brand", "card", 4.5}, {"brand-ink", "brand", 4.5},
		{"ok", "bg", 4.5}, {"ok", "card", 4.5}, {"bad", "bg", 4.5}, {"bad", "card", 4.5}, {"warn", "bg", 4.5},
		{"focus", "ink", 3}, {"ink", "bg", 3},
	} {
		fg, bg := vars[tt.fg], vars[tt.bg]
		require.NotEmpty(t, fg, tt.fg)
		require.NotEmpty(t, bg, tt.bg)
		assert.GreaterOrEqual(t, contrast(fg, bg), tt.min, "%s on %s", tt.fg, tt.bg)
	}
}

// contrast is WCAG's contrast ratio of two #rrggbb colours.
func contrast(a, b string) float64 {
	la, lb := luminance(a), luminance(b)
	return (math.Max(la, lb) + 0.05) / (math.Min(la, lb) + 0.05)
}

func luminance(hex string) float64 {
	var c [3]float64
	for i := range c {
		v, _ := strconv.ParseUint(hex[1+2*i:3+2*i], 16, 8)
		x := float64(v) / 255
		if x <= 0.04045 {
			c[i] = x / 12.92
		} else {
			c[i] = math.Pow((x+0.055)/1.055, 2.4)
		}
	}
	return 0.2126*c[0] + 0.7152*c[1] + 0.0722*c[2]
}
