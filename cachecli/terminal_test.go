package cachecli

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEscapeC1(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"\"a\u009b31mb\"":         `"a\u009b31mb"`,
		"[\"\u0080\",\"\u009f\"]": `["\u0080","\u009f"]`,
		"\"é ¢ \u00a0 ÿ\"":        "\"é ¢ \u00a0 ÿ\"", // U+00A0 and on are printable
		`"\u001b plain"`:          `"\u001b plain"`,
		"\"\u009d\"":              `"\u009d"`,
		"\"end \u0085\"":          `"end \u0085"`,
	} {
		got := escapeC1([]byte(in))
		require.Equal(t, want, string(got), in)
		var a, b any
		require.NoError(t, json.Unmarshal([]byte(in), &a))
		require.NoError(t, json.Unmarshal(got, &b))
		require.Equal(t, a, b, "the same JSON value")
	}
}

func TestDisplayKey(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"plain":         "plain",
		"with space":    "with space",
		"esc\x1b[31m":   `"esc\x1b[31m"`,
		`esc\x1b[31m`:   `"esc\\x1b[31m"`,
		"csi\u009b":     `"csi\u009b"`,
		`"quoted"`:      `"\"quoted\""`,
		"tab\there":     `"tab\there"`,
		"zoë":           "zoë",
		"rtl\u202Eover": `"rtl\u202eover"`,
	} {
		require.Equal(t, want, displayKey(in), in)
	}
	require.NotEqual(t, displayKey("\x1b"), displayKey(`\x1b`))
	require.NotEqual(t, displayKey("\x1b"), displayKey(`"\x1b"`))
}
