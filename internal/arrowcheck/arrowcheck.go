// Package arrowcheck reads Arrow IPC streams and files from input that
// may be damaged or hostile. arrow-go trusts the lengths and offsets
// inside its input, so a few damaged bytes can make it allocate without
// bound (a fatal error, not a panic) or panic. Stream and File verify
// every message's metadata flatbuffer (verify.go) and framing
// (framer.go), and a file's footer and blocks, before arrow-go sees them,
// and recover arrow-go's panics as errors; Validate checks a record
// batch's buffers against its offsets and lengths. So outside input gives
// record batches or an error.
//
// arrow-go's stream reader also treats input that stops between two
// messages as a normal end, so a crashed upstream stage would look like a
// smaller table. Every Arrow writer (arrow-go, pyarrow, arrow JS) closes a
// stream with an end-of-stream marker, and the IPC reader stops right
// after reading it, so Stream watches the bytes underneath: reaching the
// end of the input itself means the marker never came, and that is
// ErrTruncated.
package arrowcheck

import (
	"errors"
	"fmt"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/ipc"
	"github.com/apache/arrow-go/v18/arrow/memory"
)

// FileMagic starts and ends an Arrow IPC file.
var FileMagic = []byte("ARROW1")

// ErrTruncated reports a stream that stopped without its end-of-stream
// marker: the stage writing it died part way through.
var ErrTruncated = errors.New("arrow stream ended without its end-of-stream marker: the stage writing it stopped part way (check its error)")

// ErrDamaged marks errors about input that is not well-formed Arrow.
var ErrDamaged = errors.New("damaged Arrow input")

// Damaged wraps err as damaged input (ErrDamaged).
func Damaged(err error) error { return fmt.Errorf("%w: %w", ErrDamaged, err) }

// ipcOptions are the options of every arrow-go reader: the limits are
// checked before arrow-go sees the input, so its own must not be lower.
func ipcOptions() []ipc.Option {
	return []ipc.Option{
		ipc.WithAllocator(memory.DefaultAllocator),
		ipc.WithMetadataSizeLimit(MaxMetadata),
		ipc.WithBodySizeLimit(MaxBody),
	}
}

// RecoverDamage, deferred, turns a panic of arrow-go (or of its Parquet
// reader) on input that passed the checks into a damaged-input error.
func RecoverDamage(err *error) {
	if p := recover(); p != nil {
		*err = Damaged(fmt.Errorf("%v", p))
	}
}

// Validate checks that the buffers of rec agree with its offsets and
// lengths. It is arrow-go's full check, except for string and binary
// columns, where arrow-go also checks that every string is UTF-8: that
// doubles the time to read a table, and a Go string may hold any bytes, so
// those get the quick check and a check that their offsets never go back.
func Validate(rec arrow.RecordBatch) error {
	for i, col := range rec.Columns() {
		var err error
		switch a := col.(type) {
		case *array.String:
			err = validateOffsets(a, a.ValueOffsets)
		case *array.Binary:
			err = validateOffsets(a, a.ValueOffsets)
		case *array.LargeString:
			err = validateOffsets(a, a.ValueOffsets)
		case *array.LargeBinary:
			err = validateOffsets(a, a.ValueOffsets)
		default:
			err = array.ValidateFull(col)
		}
		if err != nil {
			return fmt.Errorf("column %d (%s): %w", i, rec.Schema().Field(i).Name, err)
		}
	}
	return nil
}

// validateOffsets checks a variable-width array: arrow-go's quick check
// (buffers long enough, first and last offsets inside the data) and that
// its offsets never decrease.
func validateOffsets[T int32 | int64](a arrow.Array, offsets func() []T) error {
	if err := array.Validate(a); err != nil || a.Len() == 0 {
		return err
	}
	o := offsets()
	if o[0] < 0 {
		return fmt.Errorf("offset %d is negative", o[0])
	}
	for i := 1; i < len(o); i++ {
		if o[i] < o[i-1] {
			return fmt.Errorf("offsets decrease at value %d (%d < %d)", i-1, o[i], o[i-1])
		}
	}
	return nil
}
