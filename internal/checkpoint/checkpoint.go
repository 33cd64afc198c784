// Package checkpoint writes and reads model weights in the safetensors
// format, with the model's JSON config in a file beside them, so that
// other tools (PyTorch's safetensors.torch.load_file, for one) read what
// facet-train writes.
//
// A safetensors file is
//
//	8 bytes     N, the header length, unsigned little endian
//	N bytes     a JSON object: for every tensor
//	            "name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}
//	            and optionally "__metadata__": {"key": "value", ...}
//	            (string values only); padded with spaces
//	the rest    the tensors' bytes, little endian, row major; offsets
//	            count from the start of this section
//
// Write lays the tensors out in name order (as the reference library
// does for tensors of one dtype), puts "__metadata__" first, and pads the
// header with spaces so that the data starts at a multiple of 8. Files
// are written to a temporary name in the same folder and renamed, so a
// reader never sees a partial file.
//
// Read refuses, with an error that says what is wrong, a file that is
// truncated, whose header length runs past the end, whose header is not
// one JSON object, names a tensor twice, uses a dtype other than F32 (or
// one it does not know), whose offsets overlap, leave a gap, run out of
// the data section or disagree with the shape, and, when given the
// tensors a model expects, a file with a tensor missing, an extra tensor
// or a tensor of another shape.
package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"slices"
	"strings"

	"github.com/boostershot/facet/internal/outfile"
)

// Tensor is one named float32 tensor.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32
}

// Info describes one tensor of a parsed file.
type Info struct {
	Name       string
	Dtype      string
	Shape      []int
	Begin, End int // byte offsets into the data section
}

// File is a parsed safetensors image.
type File struct {
	Metadata map[string]string
	Tensors  []Info // in the order of their offsets
	data     []byte
}

// MaxHeader is the largest header Read accepts (as the reference
// implementation: 100 MB).
const MaxHeader = 100_000_000

// knownDtypes are the safetensors dtypes and their sizes in bytes.
var knownDtypes = map[string]int{
	"BOOL": 1, "U8": 1, "I8": 1, "F8_E5M2": 1, "F8_E4M3": 1,
	"I16": 2, "U16": 2, "F16": 2, "BF16": 2,
	"I32": 4, "U32": 4, "F32": 4,
	"I64": 8, "U64": 8, "F64": 8,
}

// Encode returns the safetensors image of tensors with metadata (which
// may be nil).
func Encode(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	ts := slices.Clone(tensors)
	slices.SortFunc(ts, func(a, b Tensor) int { return strings.Compare(a.Name, b.Name) })
	var hdr bytes.Buffer
	hdr.WriteByte('{')
	first := true
	comma := func() {
		if !first {
			hdr.WriteByte(',')
		}
		first = false
	}
	if len(metadata) > 0 {
		comma()
		hdr.WriteString(`"__metadata__":{`)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if i > 0 {
				hdr.WriteByte(',')
			}
			writeJSONString(&hdr, k)
			hdr.WriteByte(':')
			writeJSONString(&hdr, metadata[k])
		}
		hdr.WriteByte('}')
	}
	off := 0
	for i, t := range ts {
		if t.Name == "" || t.Name == "__metadata__" {
			return nil, fmt.Errorf("checkpoint: bad tensor name %q", t.Name)
		}
		if i > 0 && ts[i-1].Name == t.Name {
			return nil, fmt.Errorf("checkpoint: tensor %q given twice", t.Name)
		}
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("checkpoint: tensor %q has shape %v", t.Name, t.Shape)
			}
			n *= d
		}
		if n != len(t.Data) {
			return nil, fmt.Errorf("checkpoint: tensor %q of shape %v has %d values, want %d", t.Name, t.Shape, len(t.Data), n)
		}
		comma()
		writeJSONString(&hdr, t.Name)
		hdr.WriteString(`:{"dtype":"F32","shape":[`)
		for j, d := range t.Shape {
			if j > 0 {
				hdr.WriteByte(',')
			}
			fmt.Fprintf(&hdr, "%d", d)
		}
		fmt.Fprintf(&hdr, `],"data_offsets":[%d,%d]}`, off, off+4*n)
		off += 4 * n
	}
	hdr.WriteByte('}')
	for (8+hdr.Len())%8 != 0 {
		hdr.WriteByte(' ')
	}
	out := make([]byte, 8, 8+hdr.Len()+off)
	binary.LittleEndian.PutUint64(out, uint64(hdr.Len()))
	out = append(out, hdr.Bytes()...)
	for _, t := range ts {
		for _, v := range t.Data {
			out = binary.LittleEndian.AppendUint32(out, math.Float32bits(v))
		}
	}
	return out, nil
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(b *bytes.Buffer, s string) {
	var tmp bytes.Buffer
	enc := json.NewEncoder(&tmp)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Write(bytes.TrimSuffix(tmp.Bytes(), []byte("\n")))
}

// Parse checks and indexes a safetensors image. It accepts any dtype the
// format knows; Float32s and Check insist on F32.
func Parse(b []byte) (*File, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("checkpoint: truncated file: %d bytes, the header length alone takes 8", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return nil, fmt.Errorf("checkpoint: header length %d runs past the end of the %d-byte file (truncated?)", n, len(b))
	}
	if n > MaxHeader {
		return nil, fmt.Errorf("checkpoint: header length %d exceeds %d", n, MaxHeader)
	}
	hdr := b[8 : 8+n]
	data := b[8+n:]
	if len(hdr) == 0 || hdr[0] != '{' {
		return nil, errors.New("checkpoint: header is not a JSON object")
	}
	f := &File{data: data}
	dec := json.NewDecoder(bytes.NewReader(hdr))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil { // {
		return nil, fmt.Errorf("checkpoint: header: %w", err)
	}
	seen := map[string]bool{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, fmt.Errorf("checkpoint: header: %w", err)
		}
		name, ok := tok.(string)
		if !ok {
			return nil, errors.New("checkpoint: header: key is not a string")
		}
		if seen[name] {
			return nil, fmt.Errorf("checkpoint: header names %q twice", name)
		}
		seen[name] = true
		if name == "__metadata__" {
			var md map[string]string
			if err := dec.Decode(&md); err != nil {
				return nil, fmt.Errorf("checkpoint: __metadata__ is not an object of strings: %w", err)
			}
			f.Metadata = md
			continue
		}
		var raw struct {
			Dtype   *string `json:"dtype"`
			Shape   []int64 `json:"shape"`
			Offsets []int64 `json:"data_offsets"`
		}
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("checkpoint: tensor %q: %w", name, err)
		}
		if raw.Dtype == nil || raw.Shape == nil || raw.Offsets == nil {
			return nil, fmt.Errorf("checkpoint: tensor %q: want dtype, shape and data_offsets", name)
		}
		size, ok := knownDtypes[*raw.Dtype]
		if !ok {
			return nil, fmt.Errorf("checkpoint: tensor %q: unknown dtype %q", name, *raw.Dtype)
		}
		if len(raw.Offsets) != 2 {
			return nil, fmt.Errorf("checkpoint: tensor %q: data_offsets has %d values, want 2", name, len(raw.Offsets))
		}
		begin, end := raw.Offsets[0], raw.Offsets[1]
		if begin < 0 || end < begin || end > int64(len(data)) {
			return nil, fmt.Errorf("checkpoint: tensor %q: data_offsets [%d, %d] out of the %d-byte data section (truncated or damaged file)", name, begin, end, len(data))
		}
		count := int64(1)
		shape := make([]int, len(raw.Shape))
		for i, d := range raw.Shape {
			if d < 0 || (d > 0 && count > (int64(len(data))+1)/d) {
				return nil, fmt.Errorf("checkpoint: tensor %q: impossible shape %v", name, raw.Shape)
			}
			count *= d
			shape[i] = int(d)
		}
		if count*int64(size) != end-begin {
			return nil, fmt.Errorf("checkpoint: tensor %q: shape %v of %s needs %d bytes, data_offsets give %d", name, shape, *raw.Dtype, count*int64(size), end-begin)
		}
		f.Tensors = append(f.Tensors, Info{Name: name, Dtype: *raw.Dtype, Shape: shape, Begin: int(begin), End: int(end)})
	}
	if _, err := dec.Token(); err != nil { // }
		return nil, fmt.Errorf("checkpoint: header: %w", err)
	}
	if rest := bytes.TrimLeft(hdr[dec.InputOffset():], " "); len(rest) != 0 {
		return nil, errors.New("checkpoint: header has bytes after its JSON object")
	}
	slices.SortStableFunc(f.Tensors, func(a, b Info) int {
		if a.Begin != b.Begin {
			return a.Begin - b.Begin
		}
		return a.End - b.End
	})
	at := 0
	for _, t := range f.Tensors {
		if t.Begin < at {
			return nil, fmt.Errorf("checkpoint: tensor %q: data_offsets [%d, %d] overlap another tensor", t.Name, t.Begin, t.End)
		}
		if t.Begin > at {
			return nil, fmt.Errorf("checkpoint: gap in the data section at bytes [%d, %d) before tensor %q", at, t.Begin, t.Name)
		}
		at = t.End
	}
	if at != len(data) {
		return nil, fmt.Errorf("checkpoint: tensors cover %d bytes of a %d-byte data section", at, len(data))
	}
	return f, nil
}

// Info returns the description of the tensor called name.
func (f *File) Info(name string) (Info, bool) {
	for _, t := range f.Tensors {
		if t.Name == name {
			return t, true
		}
	}
	return Info{}, false
}

// Float32s decodes the F32 tensor called name.
func (f *File) Float32s(name string) ([]float32, error) {
	t, ok := f.Info(name)
	if !ok {
		return nil, fmt.Errorf("checkpoint: no tensor %q", name)
	}
	if t.Dtype != "F32" {
		return nil, fmt.Errorf("checkpoint: tensor %q has dtype %s, want F32", name, t.Dtype)
	}
	raw := f.data[t.Begin:t.End]
	out := make([]float32, len(raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
	}
	return out, nil
}

// Check reports the first way f differs from the tensors a model
// expects: a missing or extra tensor, a dtype other than F32, or another
// shape. Only Name and Shape of want are read.
func (f *File) Check(want []Tensor) error {
	have := map[string]Info{}
	for _, t := range f.Tensors {
		have[t.Name] = t
	}
	var missing []string
	wanted := map[string]bool{}
	for _, w := range want {
		wanted[w.Name] = true
		t, ok := have[w.Name]
		if !ok {
			missing = append(missing, w.Name)
			continue
		}
		if t.Dtype != "F32" {
			return fmt.Errorf("checkpoint: tensor %q has dtype %s, want F32", w.Name, t.Dtype)
		}
		if !slices.Equal(t.Shape, w.Shape) {
			return fmt.Errorf("checkpoint: tensor %q has shape %v, the model expects %v", w.Name, t.Shape, w.Shape)
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("checkpoint: missing %d tensor(s) the model expects: %s", len(missing), strings.Join(first(missing, 5), ", "))
	}
	var extra []string
	for _, t := range f.Tensors {
		if !wanted[t.Name] {
			extra = append(extra, t.Name)
		}
	}
	if len(extra) > 0 {
		slices.Sort(extra)
		return fmt.Errorf("checkpoint: %d tensor(s) the model does not have: %s", len(extra), strings.Join(first(extra, 5), ", "))
	}
	return nil
}

func first(s []string, n int) []string {
	if len(s) <= n {
		return s
	}
	return append(slices.Clone(s[:n]), "...")
}

// Decode parses a safetensors image, checks it against want (see Check)
// and copies each tensor's values into want[i].Data, which must have the
// right length, refusing NaN and infinite values. It returns the file's
// metadata.
func Decode(b []byte, want []Tensor) (map[string]string, error) {
	f, err := Parse(b)
	if err != nil {
		return nil, err
	}
	if err := f.Check(want); err != nil {
		return nil, err
	}
	for _, w := range want {
		v, err := f.Float32s(w.Name)
		if err != nil {
			return nil, err
		}
		if len(w.Data) != len(v) {
			return nil, fmt.Errorf("checkpoint: tensor %q: destination holds %d values, want %d", w.Name, len(w.Data), len(v))
		}
		// A NaN or infinite weight makes every prediction NaN, which
		// reads as class 0 for every row: refuse the file instead.
		for i, x := range v {
			if math.IsNaN(float64(x)) || math.IsInf(float64(x), 0) {
				return nil, fmt.Errorf("checkpoint: tensor %q: value %d is %v: the weights are not finite (a training that diverged, or a damaged file)", w.Name, i, x)
			}
		}
		copy(w.Data, v)
	}
	return f.Metadata, nil
}

// Write writes tensors with metadata to path atomically.
func Write(path string, tensors []Tensor, metadata map[string]string) error {
	b, err := Encode(tensors, metadata)
	if err != nil {
		return err
	}
	return writeAtomic(path, b)
}

// Read reads the safetensors file at path into want (see Decode).
func Read(path string, want []Tensor) (map[string]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: %w", err)
	}
	md, err := Decode(b, want)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return md, nil
}

// ConfigPath returns the path of the JSON config beside a weights file:
// the same name with ".json" in place of ".safetensors".
func ConfigPath(weights string) string {
	return strings.TrimSuffix(weights, ".safetensors") + ".json"
}

// Save writes the weights to path and config (any JSON-serialisable
// value) to ConfigPath(path). Both are written whole under temporary
// names first and then renamed into place, the config first and the
// weights right after, so a weights file is never newer than its config
// and an interrupted Save leaves the earlier pair as it was.
func Save(path string, config any, tensors []Tensor, metadata map[string]string) error {
	cj, err := json.MarshalIndent(config, "", "  ")
	if err != nil {
		return fmt.Errorf("checkpoint: config: %w", err)
	}
	b, err := Encode(tensors, metadata)
	if err != nil {
		return err
	}
	var files []*outfile.File
	defer func() {
		for _, f := range files {
			f.Abort()
		}
	}()
	for _, w := range []struct {
		path string
		data []byte
	}{{ConfigPath(path), append(cj, '\n')}, {path, b}} {
		f, err := outfile.Create(w.path)
		if err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
		files = append(files, f)
		if _, err := f.Write(w.data); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	for _, f := range files {
		if err := f.Commit(); err != nil {
			return fmt.Errorf("checkpoint: %w", err)
		}
	}
	return nil
}

// ReadConfig decodes the JSON config beside the weights file path into
// config, refusing unknown fields.
func ReadConfig(path string, config any) error {
	b, err := os.ReadFile(ConfigPath(path))
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(config); err != nil {
		return fmt.Errorf("checkpoint: %s: %w", ConfigPath(path), err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return fmt.Errorf("checkpoint: %s: data after the config object", ConfigPath(path))
	}
	return nil
}

// writeAtomic writes b to path through internal/outfile: synced, then
// renamed into place.
func writeAtomic(path string, b []byte) error {
	if err := outfile.WriteFile(path, b); err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return nil
}
