package arrowcheck

import (
	"encoding/binary"
	"fmt"
)

// A flatbuffer verifier for the Arrow IPC metadata: Message (Message.fbs,
// Schema.fbs) and the file Footer (File.fbs).
//
// Written here because no library fits: arrow-go decodes the metadata with
// its generated flatbuffer code, which trusts every offset and vector length
// in the input (a 1.7 KB stream can ask for hundreds of GB: a fatal,
// unrecoverable out-of-memory), and github.com/google/flatbuffers/go has no
// verifier (only the C++, Rust and a few other generators emit one). The
// checks follow the C++ flatbuffers Verifier: every table, vtable, field,
// offset, string and vector must lie inside the buffer, tables nest at most
// maxDepth deep, and the verifier reads at most a few times the buffer's
// size, so a buffer whose parts overlap cannot multiply the work arrow-go
// does after it. On top come the checks of meaning that keep arrow-go's
// allocations proportional to the input: buffers inside the body, variadic
// buffer counts within the buffers, known compression codecs.

const (
	// MaxMetadata is the largest message metadata (and file footer) read.
	MaxMetadata = 64 << 20
	// MaxBody is the largest message body (record batch) read.
	MaxBody = 4 << 30
	// maxDepth is the deepest nesting of fields (arrow-go's own limit).
	maxDepth = 64
)

// Message header kinds (MessageHeader union).
const (
	headerSchema          = 1
	headerDictionaryBatch = 2
	headerRecordBatch     = 3
)

// Type union members that are tables with fields beyond scalars (all
// others up to typeLast hold scalars only or nothing).
const (
	typeTimestamp     = 10
	typeUnion         = 14
	typeRunEndEncoded = 22
	typeBinaryView    = 23
	typeUtf8View      = 24
	typeLast          = 26 // LargeListView
)

// bodyBuffer is one buffer of a record batch, relative to the body.
type bodyBuffer struct{ offset, length int64 }

// layout counts what arrow-go reads from a record batch for a schema:
// one field node a field, buffers (for view types, two plus the variadic
// count), variadic buffer counts, and the union and run-end encoded fields
// (which had a validity buffer before metadata version V5). arrow-go reads
// the nodes, buffers and counts by index without checking the index
// against the vector's length, so a batch must hold at least this many.
type layout struct{ nodes, buffers, variadic, oldValidity int }

func (l *layout) add(o layout) {
	l.nodes += o.nodes
	l.buffers += o.buffers
	l.variadic += o.variadic
	l.oldValidity += o.oldValidity
}

// schemaLayout is what arrow-go reads of record batches and of each
// dictionary's batches.
type schemaLayout struct {
	batch layout
	dicts map[int64]layout
}

// messageInfo is what the framer needs of a verified message.
type messageInfo struct {
	header     byte         // headerSchema, headerDictionaryBatch or headerRecordBatch
	version    int16        // metadata version (4 is V5)
	bodyLength int64        // bytes of body after the metadata
	schema     schemaLayout // of a schema
	dictID     int64        // of a dictionary batch
	// of a batch: its vector lengths and variadic buffer counts
	nodes, buffers int
	variadic       []int64
	// compressed is set when the batch's buffers are compressed; packed
	// then lists them, so their uncompressed sizes can be checked.
	compressed bool
	packed     []bodyBuffer
}

// fileBlock is a Block of the file footer: where a message lies.
type fileBlock struct {
	offset     int64
	metaLength int32
	bodyLength int64
}

// footerInfo is what the reader needs of a verified file footer.
type footerInfo struct {
	schema                schemaLayout
	dictionaries, batches []fileBlock
}

type verifier struct {
	buf    []byte
	what   string // "message metadata" or "file footer", for errors
	dicts  map[int64]layout
	budget int // bytes of tables, strings and vectors it may still visit
	depth  int
}

// table is a verified table: its position and vtable.
type table struct {
	pos, vt, vtLen int
}

func newVerifier(buf []byte, what string) *verifier {
	return &verifier{buf: buf, what: what, budget: 8*len(buf) + 4096}
}

func (v *verifier) errorf(format string, args ...any) error {
	return fmt.Errorf("%s (%d bytes): "+format, append([]any{v.what, len(v.buf)}, args...)...)
}

// inside reports whether n bytes at pos lie inside the buffer.
func (v *verifier) inside(pos, n int) bool {
	return pos >= 0 && n >= 0 && pos <= len(v.buf) && n <= len(v.buf)-pos
}

func (v *verifier) u32(pos int) uint32 { return binary.LittleEndian.Uint32(v.buf[pos:]) }
func (v *verifier) u16(pos int) uint16 { return binary.LittleEndian.Uint16(v.buf[pos:]) }

func (v *verifier) spend(n int, name string) error {
	v.budget -= n
	if v.budget < 0 {
		return v.errorf("%s: parts of the buffer are read over and over (overlapping tables)", name)
	}
	return nil
}

// root verifies the root table the buffer starts with.
func (v *verifier) root(name string) (table, error) {
	if !v.inside(0, 4) {
		return table{}, v.errorf("too short for a %s", name)
	}
	return v.table(int(v.u32(0)), name)
}

// table verifies the table at pos and its vtable.
func (v *verifier) table(pos int, name string) (table, error) {
	if !v.inside(pos, 4) {
		return table{}, v.errorf("%s table at %d is outside the buffer", name, pos)
	}
	vt := pos - int(int32(v.u32(pos)))
	if !v.inside(vt, 4) {
		return table{}, v.errorf("%s vtable at %d is outside the buffer", name, vt)
	}
	vtLen, objLen := int(v.u16(vt)), int(v.u16(vt+2))
	if vtLen < 4 || vtLen%2 != 0 || !v.inside(vt, vtLen) {
		return table{}, v.errorf("%s vtable at %d has a bad length %d", name, vt, vtLen)
	}
	if objLen < 4 || !v.inside(pos, objLen) {
		return table{}, v.errorf("%s table at %d has a bad length %d", name, pos, objLen)
	}
	if err := v.spend(objLen, name); err != nil {
		return table{}, err
	}
	return table{pos: pos, vt: vt, vtLen: vtLen}, nil
}

// field is the position of field slot of t, 0 when absent; size bytes
// there must lie in the buffer.
func (v *verifier) field(t table, slot, size int, name string) (int, error) {
	at := 4 + 2*slot
	if at+2 > t.vtLen {
		return 0, nil
	}
	off := int(v.u16(t.vt + at))
	if off == 0 {
		return 0, nil
	}
	if !v.inside(t.pos+off, size) {
		return 0, v.errorf("%s is outside the buffer", name)
	}
	return t.pos + off, nil
}

// ref follows the offset in field slot of t: the position it points at, 0
// when the field is absent.
func (v *verifier) ref(t table, slot int, name string) (int, error) {
	pos, err := v.field(t, slot, 4, name)
	if err != nil || pos == 0 {
		return 0, err
	}
	off := int(v.u32(pos))
	if off == 0 || !v.inside(pos+off, 4) {
		return 0, v.errorf("%s points outside the buffer", name)
	}
	return pos + off, nil
}

// subtable verifies the table in field slot of t; ok is false when absent.
func (v *verifier) subtable(t table, slot int, name string) (sub table, ok bool, err error) {
	pos, err := v.ref(t, slot, name)
	if err != nil || pos == 0 {
		return table{}, false, err
	}
	sub, err = v.table(pos, name)
	return sub, err == nil, err
}

// vector verifies the vector of elem-byte elements in field slot of t and
// returns the position of its first element and its length.
func (v *verifier) vector(t table, slot, elem int, name string) (start, n int, err error) {
	pos, err := v.ref(t, slot, name)
	if err != nil || pos == 0 {
		return 0, 0, err
	}
	n = int(v.u32(pos))
	if n > (len(v.buf)-pos-4)/elem {
		return 0, 0, v.errorf("%s: vector of %d entries runs past the end", name, n)
	}
	if err := v.spend(4+n*elem, name); err != nil {
		return 0, 0, err
	}
	return pos + 4, n, nil
}

// str verifies the string in field slot of t.
func (v *verifier) str(t table, slot int, name string) error {
	start, n, err := v.vector(t, slot, 1, name)
	if err != nil || start == 0 {
		return err
	}
	if !v.inside(start+n, 1) || v.buf[start+n] != 0 {
		return v.errorf("%s: string is not terminated", name)
	}
	return nil
}

// tables verifies the vector of tables in field slot of t, calling each
// on every table.
func (v *verifier) tables(t table, slot int, name string, each func(table) error) error {
	start, n, err := v.vector(t, slot, 4, name)
	if err != nil {
		return err
	}
	for i := range n {
		pos := start + 4*i
		sub, err := v.table(pos+int(v.u32(pos)), name)
		if err != nil {
			return err
		}
		if err := each(sub); err != nil {
			return err
		}
	}
	return nil
}

// scalars verifies the fields of t that hold scalars, given their sizes in
// slot order (0 skips a slot).
func (v *verifier) scalars(t table, name string, sizes ...int) error {
	for slot, size := range sizes {
		if size == 0 {
			continue
		}
		if _, err := v.field(t, slot, size, name); err != nil {
			return err
		}
	}
	return nil
}

// i64 reads the int64 field slot of t, 0 when absent.
func (v *verifier) i64(t table, slot int, name string) (int64, error) {
	pos, err := v.field(t, slot, 8, name)
	if err != nil || pos == 0 {
		return 0, err
	}
	return int64(binary.LittleEndian.Uint64(v.buf[pos:])), nil
}

// u8 reads the byte field slot of t, 0 when absent.
func (v *verifier) u8(t table, slot int, name string) (byte, error) {
	pos, err := v.field(t, slot, 1, name)
	if err != nil || pos == 0 {
		return 0, err
	}
	return v.buf[pos], nil
}

// keyValues verifies a custom_metadata vector of KeyValue tables.
func (v *verifier) keyValues(t table, slot int, name string) error {
	return v.tables(t, slot, name, func(kv table) error {
		if err := v.str(kv, 0, name+" key"); err != nil {
			return err
		}
		return v.str(kv, 1, name+" value")
	})
}

// schema verifies a Schema table.
func (v *verifier) schema(t table) (schemaLayout, error) {
	out := schemaLayout{dicts: map[int64]layout{}}
	v.dicts = out.dicts
	if err := v.scalars(t, "Schema.endianness", 2); err != nil {
		return out, err
	}
	err := v.tables(t, 1, "Schema.fields", func(f table) error {
		l, err := v.field1(f)
		out.batch.add(l)
		return err
	})
	if err != nil {
		return out, err
	}
	if err := v.keyValues(t, 2, "Schema.custom_metadata"); err != nil {
		return out, err
	}
	_, _, err = v.vector(t, 3, 8, "Schema.features")
	return out, err
}

// typeBuffers is how many buffers arrow-go reads for a field of each type
// of the Type union (Schema.fbs numbering), its children left out.
var typeBuffers = [typeLast + 1]int{
	1: 0, 2: 2, 3: 2, 4: 3, 5: 3, 6: 2, 7: 2, 8: 2, 9: 2, 10: 2, 11: 2,
	12: 2, 13: 1, 14: 1, 15: 2, 16: 1, 17: 2, 18: 2, 19: 3, 20: 3, 21: 2,
	22: 0, 23: 2, 24: 2, 25: 3, 26: 3,
}

// field1 verifies a Field table and, recursively, its children, and
// returns what arrow-go reads of a batch for it.
func (v *verifier) field1(t table) (layout, error) {
	var l layout
	if v.depth++; v.depth > maxDepth {
		return l, v.errorf("fields nest more than %d deep", maxDepth)
	}
	defer func() { v.depth-- }()
	if err := v.str(t, 0, "Field.name"); err != nil {
		return l, err
	}
	if err := v.scalars(t, "Field", 0, 1, 1); err != nil {
		return l, err
	}
	typ, err := v.u8(t, 2, "Field.type_type")
	if err != nil {
		return l, err
	}
	if typ > typeLast {
		return l, v.errorf("Field.type_type %d is not an Arrow type", typ)
	}
	ty, ok, err := v.subtable(t, 3, "Field.type")
	if err != nil {
		return l, err
	}
	if typ != 0 && !ok {
		return l, v.errorf("Field.type is missing")
	}
	if ok {
		if err := v.typeTable(typ, ty); err != nil {
			return l, err
		}
	}
	l = layout{nodes: 1, buffers: typeBuffers[typ]}
	switch typ {
	case typeUnion:
		if mode, err := v.field(ty, 0, 2, "Union.mode"); err == nil && mode != 0 && v.u16(mode) == 1 {
			l.buffers++ // dense: offsets
		}
		l.oldValidity = 1
	case typeRunEndEncoded:
		l.oldValidity = 1
	case typeBinaryView, typeUtf8View:
		l.variadic = 1
	}
	err = v.tables(t, 5, "Field.children", func(c table) error {
		cl, err := v.field1(c)
		l.add(cl)
		return err
	})
	if err != nil {
		return l, err
	}
	if err := v.keyValues(t, 6, "Field.custom_metadata"); err != nil {
		return l, err
	}
	dict, ok, err := v.subtable(t, 4, "Field.dictionary")
	if err != nil || !ok {
		return l, err
	}
	// A dictionary-encoded field is its indices in a record batch; its
	// values come in dictionary batches.
	if err := v.scalars(dict, "DictionaryEncoding", 8, 0, 1, 2); err != nil {
		return l, err
	}
	id, err := v.i64(dict, 0, "DictionaryEncoding.id")
	if err != nil {
		return l, err
	}
	v.dicts[id] = l
	idx, ok, err := v.subtable(dict, 1, "DictionaryEncoding.indexType")
	if err == nil && ok {
		err = v.scalars(idx, "Int", 4, 1)
	}
	return layout{nodes: 1, buffers: 2}, err
}

// fits checks that a batch holds at least the field nodes, buffers and
// variadic buffer counts that arrow-go will read for it, given the schema.
func (info messageInfo) fits(schema schemaLayout) error {
	want := schema.batch
	switch info.header {
	case headerSchema:
		return nil // arrow-go refuses a second schema
	case headerDictionaryBatch:
		var ok bool
		if want, ok = schema.dicts[info.dictID]; !ok {
			return fmt.Errorf("dictionary batch for dictionary %d, which the schema does not have", info.dictID)
		}
	}
	if info.version < 4 { // before V5, unions had a validity buffer
		want.buffers += want.oldValidity
	}
	if len(info.variadic) < want.variadic {
		return fmt.Errorf("batch has %d variadic buffer counts, its schema needs %d", len(info.variadic), want.variadic)
	}
	for _, c := range info.variadic[:want.variadic] {
		want.buffers += int(c) // each at most the buffer count: verified
	}
	if info.nodes < want.nodes || info.buffers < want.buffers {
		return fmt.Errorf("batch has %d field nodes and %d buffers, its schema needs %d and %d", info.nodes, info.buffers, want.nodes, want.buffers)
	}
	return nil
}

// typeScalars are the sizes of the scalar fields of the Type union's
// members, in slot order (Schema.fbs); members not listed have no fields.
var typeScalars = map[byte][]int{
	2:  {4, 1},    // Int: bitWidth, is_signed
	3:  {2},       // FloatingPoint: precision
	7:  {4, 4, 4}, // Decimal: precision, scale, bitWidth
	8:  {2},       // Date: unit
	9:  {2, 4},    // Time: unit, bitWidth
	11: {2},       // Interval: unit
	15: {4},       // FixedSizeBinary: byteWidth
	16: {4},       // FixedSizeList: listSize
	17: {1},       // Map: keysSorted
	18: {2},       // Duration: unit
}

// typeTable verifies the table of a Type union member.
func (v *verifier) typeTable(typ byte, t table) error {
	switch typ {
	case typeTimestamp:
		if err := v.scalars(t, "Timestamp", 2); err != nil {
			return err
		}
		return v.str(t, 1, "Timestamp.timezone")
	case typeUnion:
		if err := v.scalars(t, "Union", 2); err != nil {
			return err
		}
		_, _, err := v.vector(t, 1, 4, "Union.typeIds")
		return err
	}
	return v.scalars(t, "Field.type", typeScalars[typ]...)
}

// recordBatch verifies a RecordBatch table against a body of bodyLength
// bytes.
func (v *verifier) recordBatch(t table, bodyLength int64, info *messageInfo) error {
	length, err := v.i64(t, 0, "RecordBatch.length")
	if err != nil {
		return err
	}
	if length < 0 {
		return v.errorf("RecordBatch.length %d is negative", length)
	}
	start, n, err := v.vector(t, 1, 16, "RecordBatch.nodes")
	if err != nil {
		return err
	}
	for i := range n {
		pos := start + 16*i
		if int64(binary.LittleEndian.Uint64(v.buf[pos:])) < 0 || int64(binary.LittleEndian.Uint64(v.buf[pos+8:])) < 0 {
			return v.errorf("RecordBatch.nodes[%d] has a negative length or null count", i)
		}
	}
	info.nodes = n
	start, nbuf, err := v.vector(t, 2, 16, "RecordBatch.buffers")
	if err != nil {
		return err
	}
	info.buffers = nbuf
	comp, compressed, err := v.subtable(t, 3, "RecordBatch.compression")
	if err != nil {
		return err
	}
	if compressed {
		codec, err := v.u8(comp, 0, "BodyCompression.codec")
		if err != nil {
			return err
		}
		method, err := v.u8(comp, 1, "BodyCompression.method")
		if err != nil {
			return err
		}
		if codec > 1 || method != 0 {
			return v.errorf("unknown body compression (codec %d, method %d)", codec, method)
		}
		info.compressed = true
	}
	for i := range nbuf {
		pos := start + 16*i
		off := int64(binary.LittleEndian.Uint64(v.buf[pos:]))
		n := int64(binary.LittleEndian.Uint64(v.buf[pos+8:]))
		if off < 0 || n < 0 || off > bodyLength || n > bodyLength-off {
			return v.errorf("RecordBatch.buffers[%d] (offset %d, length %d) lies outside the %d-byte body", i, off, n, bodyLength)
		}
		if compressed && n > 0 {
			if n < 8 {
				return v.errorf("RecordBatch.buffers[%d] is compressed but has no length prefix", i)
			}
			info.packed = append(info.packed, bodyBuffer{off, n})
		}
	}
	start, n, err = v.vector(t, 4, 8, "RecordBatch.variadicBufferCounts")
	if err != nil {
		return err
	}
	var sum int64
	for i := range n {
		c := int64(binary.LittleEndian.Uint64(v.buf[start+8*i:]))
		if c < 0 || c > int64(nbuf)-sum {
			return v.errorf("RecordBatch.variadicBufferCounts[%d] = %d, but the batch has %d buffers", i, c, nbuf)
		}
		sum += c
		info.variadic = append(info.variadic, c)
	}
	return nil
}

// verifyMessage verifies the flatbuffer of one IPC message's metadata.
func verifyMessage(buf []byte) (messageInfo, error) {
	v := newVerifier(buf, "message metadata")
	var info messageInfo
	t, err := v.root("Message")
	if err != nil {
		return info, err
	}
	if err := v.scalars(t, "Message", 2, 1, 0, 8); err != nil {
		return info, err
	}
	if pos, _ := v.field(t, 0, 2, "Message.version"); pos != 0 {
		info.version = int16(v.u16(pos))
	}
	if info.bodyLength, err = v.i64(t, 3, "Message.bodyLength"); err != nil {
		return info, err
	}
	if info.bodyLength < 0 {
		return info, v.errorf("Message.bodyLength %d is negative", info.bodyLength)
	}
	if err := v.keyValues(t, 4, "Message.custom_metadata"); err != nil {
		return info, err
	}
	if info.header, err = v.u8(t, 1, "Message.header_type"); err != nil {
		return info, err
	}
	header, ok, err := v.subtable(t, 2, "Message.header")
	if err != nil {
		return info, err
	}
	if !ok {
		return info, v.errorf("the message has no header")
	}
	switch info.header {
	case headerSchema:
		info.schema, err = v.schema(header)
		return info, err
	case headerDictionaryBatch:
		if err := v.scalars(header, "DictionaryBatch", 8, 0, 1); err != nil {
			return info, err
		}
		if info.dictID, err = v.i64(header, 0, "DictionaryBatch.id"); err != nil {
			return info, err
		}
		data, ok, err := v.subtable(header, 1, "DictionaryBatch.data")
		if err != nil {
			return info, err
		}
		if !ok {
			return info, v.errorf("DictionaryBatch.data is missing")
		}
		return info, v.recordBatch(data, info.bodyLength, &info)
	case headerRecordBatch:
		return info, v.recordBatch(header, info.bodyLength, &info)
	}
	return info, v.errorf("message type %d is not a schema, dictionary or record batch (tensors are not tables)", info.header)
}

// verifyFooter verifies the flatbuffer of a file footer.
func verifyFooter(buf []byte) (info footerInfo, err error) {
	v := newVerifier(buf, "file footer")
	t, err := v.root("Footer")
	if err != nil {
		return info, err
	}
	if err := v.scalars(t, "Footer.version", 2); err != nil {
		return info, err
	}
	schema, ok, err := v.subtable(t, 1, "Footer.schema")
	if err != nil {
		return info, err
	}
	if !ok {
		return info, v.errorf("Footer.schema is missing")
	}
	if info.schema, err = v.schema(schema); err != nil {
		return info, err
	}
	if info.dictionaries, err = v.blocks(t, 2, "Footer.dictionaries"); err != nil {
		return info, err
	}
	if info.batches, err = v.blocks(t, 3, "Footer.recordBatches"); err != nil {
		return info, err
	}
	return info, v.keyValues(t, 4, "Footer.custom_metadata")
}

// blocks verifies a vector of Block structs (offset long, metaDataLength
// int, 4 bytes padding, bodyLength long) and returns them.
func (v *verifier) blocks(t table, slot int, name string) ([]fileBlock, error) {
	start, n, err := v.vector(t, slot, 24, name)
	if err != nil {
		return nil, err
	}
	out := make([]fileBlock, n)
	for i := range out {
		pos := start + 24*i
		out[i] = fileBlock{
			offset:     int64(binary.LittleEndian.Uint64(v.buf[pos:])),
			metaLength: int32(v.u32(pos + 8)),
			bodyLength: int64(binary.LittleEndian.Uint64(v.buf[pos+16:])),
		}
	}
	return out, nil
}
