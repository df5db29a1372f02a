package main

import (
	"context"
	"strings"
	"testing"
)

func TestQuickstart(t *testing.T) {
	var out strings.Builder
	if err := run(context.Background(), &out); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"get greeting: map[hello:world] (hit: true)",
		"get-or-set answer, call 2: 42",
		"increment hits: 3",
		"flash exists right away: true",
		"flash exists after 150ms: false",
		"stats: total=5 expired=1 unexpired=3 forever=1",
		"clear-expired deleted: 1",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if n := strings.Count(out.String(), "computing answer"); n != 1 {
		t.Errorf("computed %d times, want 1", n)
	}
}
