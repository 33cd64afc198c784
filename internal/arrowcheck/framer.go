package arrowcheck

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/ipc"
)

// readAhead is the body size above which the framer reads a body in full
// before arrow-go sees its length: arrow-go allocates a message's body up
// front, so a damaged length in a short input would otherwise cost up to
// MaxBody of memory. Smaller bodies pass straight through, with no copy.
const readAhead = 16 << 20

// maxExpansion bounds how far the compressed buffers of one batch may
// claim to expand (arrow-go allocates each buffer's claimed uncompressed
// size before decompressing): the larger of MaxMetadata and this many times
// the body.
const maxExpansion = 1024

// framer sits between the byte stream and arrow-go's IPC stream reader. It
// reads each message's framing (continuation marker, metadata length), reads
// and verifies the metadata flatbuffer, checks the body length, and passes
// the bytes on unchanged. It also notes where the input ended, which tells a
// truncated stream from one closed by its end-of-stream marker.
type framer struct {
	r       *bufio.Reader
	pending [][]byte      // verified bytes not yet passed on
	body    int64         // body bytes still to pass straight through
	schema  *schemaLayout // of the stream's schema, its first message
	ended   bool          // the end-of-stream marker was passed on
	hitEOF  bool          // the input ended at a message boundary, before its end marker
	err     error         // why the stream is damaged; sticky
}

func (f *framer) Read(p []byte) (int, error) {
	for {
		for len(f.pending) > 0 {
			if len(f.pending[0]) == 0 {
				f.pending = f.pending[1:]
				continue
			}
			n := copy(p, f.pending[0])
			f.pending[0] = f.pending[0][n:]
			return n, nil
		}
		if f.body > 0 {
			n, err := f.r.Read(p[:min(int64(len(p)), f.body)])
			f.body -= int64(n)
			if errors.Is(err, io.EOF) && f.body > 0 {
				f.err = cut(err) // what the reader reports, whatever arrow-go makes of it
				err = io.ErrUnexpectedEOF
			}
			return n, err
		}
		switch {
		case f.err != nil:
			return 0, f.err
		case f.ended || f.hitEOF:
			return 0, io.EOF
		}
		if err := f.next(); err != nil {
			if err != io.EOF {
				f.err = err
			}
			return 0, err
		}
	}
}

// next reads and checks the next message's framing and metadata, and
// queues them to be passed on.
func (f *framer) next() error {
	var head [8]byte
	n, err := io.ReadFull(f.r, head[:4])
	switch {
	case n == 0 && errors.Is(err, io.EOF):
		f.hitEOF = true
		return io.EOF
	case err != nil:
		return cut(err)
	}
	prefix, length := 4, binary.LittleEndian.Uint32(head[:4])
	if length == 0xffffffff { // continuation marker, then the length
		if _, err := io.ReadFull(f.r, head[4:]); err != nil {
			return cut(err)
		}
		prefix, length = 8, binary.LittleEndian.Uint32(head[4:])
	}
	if length == 0 { // end-of-stream marker
		f.ended = true
		f.pending = append(f.pending, head[:prefix])
		return nil
	}
	if int32(length) < 0 || length > MaxMetadata {
		return Damaged(fmt.Errorf("message metadata length %d is over the %d MiB limit", int32(length), MaxMetadata>>20))
	}
	meta, err := readN(f.r, int64(length))
	if err != nil {
		return cut(err)
	}
	info, err := verifyMessage(meta)
	if err != nil {
		return Damaged(err)
	}
	if err := f.fits(info); err != nil {
		return Damaged(err)
	}
	if info.bodyLength > MaxBody {
		return fmt.Errorf("record batch of %d bytes is larger than the %d GiB limit; write smaller batches", info.bodyLength, MaxBody>>30)
	}
	f.pending = append(f.pending, head[:prefix:prefix], meta)
	if !info.compressed && info.bodyLength <= readAhead {
		f.body = info.bodyLength
		return nil
	}
	body, err := readN(f.r, info.bodyLength)
	if err != nil {
		return cut(err)
	}
	if info.compressed {
		if err := checkExpansion(bytes.NewReader(body), info); err != nil {
			return err
		}
	}
	f.pending = append(f.pending, body)
	return nil
}

// fits checks a message against the stream's schema.
func (f *framer) fits(info messageInfo) error {
	if f.schema == nil {
		if info.header != headerSchema {
			return errors.New("the stream does not start with a schema")
		}
		f.schema = &info.schema
		return nil
	}
	return info.fits(*f.schema)
}

// readN reads n bytes, allocating as they arrive rather than n up front, so
// a damaged length costs no more memory than the input holds.
func readN(r io.Reader, n int64) ([]byte, error) {
	var buf bytes.Buffer
	buf.Grow(int(min(n, 64<<10)))
	got, err := io.CopyN(&buf, r, n)
	if got == n {
		err = nil
	}
	return buf.Bytes(), err
}

// cut is the error for input that ends inside a message.
func cut(err error) error {
	if errors.Is(err, io.EOF) {
		return fmt.Errorf("the input ends inside a message: %w", ErrTruncated)
	}
	return err
}

// checkExpansion checks the uncompressed sizes that the compressed buffers
// of a batch claim (each buffer starts with it, -1 for a buffer stored
// uncompressed), read from body at the buffers' offsets.
func checkExpansion(body io.ReaderAt, info messageInfo) error {
	limit := max(MaxMetadata, maxExpansion*info.bodyLength)
	var total int64
	var size [8]byte
	for _, b := range info.packed {
		if _, err := body.ReadAt(size[:], b.offset); err != nil {
			return fmt.Errorf("reading a compressed buffer's length: %w", err)
		}
		n := int64(binary.LittleEndian.Uint64(size[:]))
		if n == -1 {
			continue
		}
		if n < 0 || n > limit-total {
			return Damaged(fmt.Errorf("compressed buffers of a %d-byte batch claim more than %d bytes uncompressed", info.bodyLength, limit))
		}
		total += n
	}
	return nil
}

// cause is the framer's own error when arrow-go failed on it, err itself
// otherwise: the framer's message is the clearer one.
func (f *framer) cause(err error) error {
	if f.err != nil {
		return f.err
	}
	return err
}

// Stream reads an Arrow IPC stream through a framer.
type Stream struct {
	r      *ipc.Reader
	framer *framer
	rows   int64
}

// NewStream opens the IPC stream on br and reads its schema.
func NewStream(br *bufio.Reader) (s *Stream, err error) {
	f := &framer{r: br}
	defer RecoverDamage(&err)
	r, err := ipc.NewReader(f, ipcOptions()...)
	if err != nil {
		return nil, fmt.Errorf("reading Arrow stream schema: %w", f.cause(err))
	}
	return &Stream{r: r, framer: f}, nil
}

// Schema is the stream's schema.
func (s *Stream) Schema() *arrow.Schema { return s.r.Schema() }

// Next returns the next record batch, valid until the next call (Retain
// it to keep it), or nil at the stream's end marker. A stream that ends
// without its end marker is ErrTruncated.
func (s *Stream) Next() (rec arrow.RecordBatch, err error) {
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, fmt.Errorf("after %d rows: %w", s.rows, Damaged(fmt.Errorf("%v", p)))
		}
	}()
	if !s.r.Next() {
		if err := s.r.Err(); err != nil {
			return nil, fmt.Errorf("reading Arrow stream after %d rows: %w", s.rows, s.framer.cause(err))
		}
		if s.framer.hitEOF {
			return nil, fmt.Errorf("after %d rows: %w", s.rows, ErrTruncated)
		}
		return nil, nil
	}
	rec = s.r.RecordBatch()
	s.rows += rec.NumRows()
	return rec, nil
}

// Release frees the stream reader.
func (s *Stream) Release() { s.r.Release() }
