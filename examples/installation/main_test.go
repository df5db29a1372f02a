package main

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// The README's Installation snippet is main's body, and main runs.
func TestInstallationSnippet(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	require.NoError(t, err)
	m := regexp.MustCompile("(?s)## Installation.*?```go\n(.*?)```").FindSubmatch(readme)
	require.NotNil(t, m, "no Go snippet under ## Installation")
	src, err := os.ReadFile("main.go")
	require.NoError(t, err)
	_, fn, ok := strings.Cut(string(src), "func main() {\n")
	require.True(t, ok)
	var body strings.Builder
	for _, line := range strings.SplitAfter(fn, "\n") {
		if strings.HasPrefix(line, "\t") {
			body.WriteString(strings.TrimPrefix(line, "\t"))
		}
	}
	require.Equal(t, string(m[1]), body.String())

	t.Chdir(t.TempDir()) // main creates app.db in the working directory
	main()
	_, err = os.Stat("app.db")
	require.NoError(t, err)
}
