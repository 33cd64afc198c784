package testdata

import (
	"syscall"
	"testing"
)

// LimitFileSize makes every write past n bytes of a regular file fail, as
// a full disk would (with EFBIG: the Go runtime ignores SIGXFSZ), for
// the whole process, until restore is called or the test ends.
func LimitFileSize(tb testing.TB, n uint64) (restore func()) {
	tb.Helper()
	var old syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_FSIZE, &old); err != nil {
		tb.Fatal(err)
	}
	if err := syscall.Setrlimit(syscall.RLIMIT_FSIZE, &syscall.Rlimit{Cur: n, Max: old.Max}); err != nil {
		tb.Fatal(err)
	}
	restore = func() { syscall.Setrlimit(syscall.RLIMIT_FSIZE, &old) }
	tb.Cleanup(restore)
	return restore
}
