// Package testdata finds the real face images that tests and benchmarks
// use when they are there: $FACET_TESTDATA, or ../shared/data next to the
// project checkout. They are never part of the project itself.
package testdata

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
)

// Dir is the real-data folder, or skips the test (or benchmark) with a
// message when it is absent.
func Dir(tb testing.TB) string {
	tb.Helper()
	if d := os.Getenv("FACET_TESTDATA"); d != "" {
		if _, err := os.Stat(d); err != nil {
			tb.Fatalf("FACET_TESTDATA=%s: %v", d, err)
		}
		return d
	}
	_, file, _, _ := runtime.Caller(0)
	// internal/testdata/testdata.go -> project root -> ../shared/data
	d := filepath.Join(filepath.Dir(file), "..", "..", "..", "shared", "data")
	if _, err := os.Stat(filepath.Join(d, "README.md")); err != nil {
		tb.Skipf("real face data not found at %s (set FACET_TESTDATA): skipping", d)
	}
	return d
}
