package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func tiny() []Tensor {
	return []Tensor{
		{Name: "b", Shape: []int{2}, Data: []float32{1, -2}},
		{Name: "a", Shape: []int{1, 1}, Data: []float32{0.5}},
	}
}

// The exact bytes of a tiny file, computed by hand from the safetensors
// spec: header length 144 = 0x90 (141 bytes of JSON + 3 spaces, so the
// data starts at byte 152, a multiple of 8), "__metadata__" first, then
// the tensors in name order, then 0.5, 1, -2 as little-endian float32.
func TestEncodeExactBytes(t *testing.T) {
	want := []byte{0x90, 0, 0, 0, 0, 0, 0, 0}
	want = append(want, `{"__metadata__":{"format":"pt"},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}}   `...)
	data, _ := hex.DecodeString("0000003f" + "0000803f" + "000000c0")
	want = append(want, data...)
	got, err := Encode(tiny(), map[string]string{"format": "pt"})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got\n%q\nwant\n%q", got, want)
	}
}

func TestEncodeNoMetadata(t *testing.T) {
	got, err := Encode([]Tensor{{Name: "x", Shape: []int{}, Data: []float32{3}}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	hdr := `{"x":{"dtype":"F32","shape":[],"data_offsets":[0,4]}}`
	for (8+len(hdr))%8 != 0 {
		hdr += " "
	}
	if n := binary.LittleEndian.Uint64(got); int(n) != len(hdr) || string(got[8:8+n]) != hdr {
		t.Fatalf("header %q", got[8:])
	}
}

func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "best.safetensors")
	type cfg struct {
		Width int    `json:"width"`
		Heads string `json:"heads"`
	}
	in := []Tensor{
		{Name: "conv.weight", Shape: []int{2, 1, 3, 3}, Data: make([]float32, 18)},
		{Name: "bn.running_var", Shape: []int{2}, Data: []float32{1, 2}},
		{Name: "empty", Shape: []int{0, 4}, Data: nil},
	}
	for i := range in[0].Data {
		in[0].Data[i] = float32(i)*0.25 - 2
	}
	if err := Save(path, cfg{Width: 16, Heads: "three"}, in, map[string]string{"epoch": "3"}); err != nil {
		t.Fatal(err)
	}
	out := []Tensor{
		{Name: "bn.running_var", Shape: []int{2}, Data: make([]float32, 2)},
		{Name: "empty", Shape: []int{0, 4}},
		{Name: "conv.weight", Shape: []int{2, 1, 3, 3}, Data: make([]float32, 18)},
	}
	md, err := Read(path, out)
	if err != nil {
		t.Fatal(err)
	}
	if md["epoch"] != "3" {
		t.Errorf("metadata %v", md)
	}
	for i, v := range out[2].Data {
		if v != in[0].Data[i] {
			t.Fatalf("conv.weight[%d] = %v, want %v", i, v, in[0].Data[i])
		}
	}
	if out[0].Data[1] != 2 {
		t.Errorf("running_var %v", out[0].Data)
	}
	var c cfg
	if err := ReadConfig(path, &c); err != nil {
		t.Fatal(err)
	}
	if c.Width != 16 || c.Heads != "three" {
		t.Errorf("config %+v", c)
	}
	// no temporary files left behind
	ents, _ := os.ReadDir(dir)
	if len(ents) != 2 {
		var names []string
		for _, e := range ents {
			names = append(names, e.Name())
		}
		t.Errorf("folder holds %v, want the weights and the config", names)
	}
	if ConfigPath(path) != filepath.Join(dir, "best.json") {
		t.Errorf("ConfigPath = %s", ConfigPath(path))
	}
}

// header builds a file from a raw JSON header and a data section.
func header(js string, data []byte) []byte {
	b := binary.LittleEndian.AppendUint64(nil, uint64(len(js)))
	b = append(b, js...)
	return append(b, data...)
}

func TestRefusals(t *testing.T) {
	good, err := Encode(tiny(), nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []Tensor{{Name: "a", Shape: []int{1, 1}, Data: make([]float32, 1)}, {Name: "b", Shape: []int{2}, Data: make([]float32, 2)}}
	if _, err := Decode(good, want); err != nil {
		t.Fatalf("good file refused: %v", err)
	}
	long := binary.LittleEndian.AppendUint64(nil, 1<<40)
	long = append(long, good[8:]...)
	f32 := func(s string) string { return `"dtype":"F32","shape":` + s }
	cases := []struct {
		name string
		file []byte
		want []Tensor
		msg  string
	}{
		{"empty", nil, want, "truncated"},
		{"short length", []byte{1, 2, 3}, want, "truncated"},
		{"truncated data", good[:len(good)-2], want, "truncated or damaged"},
		{"trailing data", append(append([]byte(nil), good...), 0, 0, 0, 0), want, "tensors cover 12 bytes of a 16-byte"},
		{"truncated header", good[:20], want, "runs past the end"},
		{"header length beyond file", long, want, "runs past the end"},
		{"not an object", header(`[1,2]`, nil), want, "not a JSON object"},
		{"bad json", header(`{"a":{`, nil), want, "unexpected EOF"},
		{"trailing garbage", header(`{}x`, nil), want, "after its JSON"},
		{"unknown dtype", header(`{"a":{"dtype":"F31","shape":[1],"data_offsets":[0,4]}}`, make([]byte, 4)), want, "unknown dtype"},
		{"other dtype", header(`{"a":{"dtype":"F64","shape":[1,1],"data_offsets":[0,8]},"b":{`+f32(`[2]`)+`,"data_offsets":[8,16]}}`, make([]byte, 16)), want, "want F32"},
		{"missing field", header(`{"a":{"dtype":"F32","shape":[1]}}`, make([]byte, 4)), want, "want dtype, shape and data_offsets"},
		{"overlap", header(`{"a":{`+f32(`[1,1]`)+`,"data_offsets":[0,4]},"b":{`+f32(`[2]`)+`,"data_offsets":[0,8]}}`, make([]byte, 8)), want, "overlap"},
		{"gap", header(`{"a":{`+f32(`[1,1]`)+`,"data_offsets":[0,4]},"b":{`+f32(`[2]`)+`,"data_offsets":[8,16]}}`, make([]byte, 16)), want, "gap"},
		{"out of range", header(`{"a":{`+f32(`[1,1]`)+`,"data_offsets":[0,4]},"b":{`+f32(`[2]`)+`,"data_offsets":[4,12]}}`, make([]byte, 8)), want, "out of the"},
		{"reversed offsets", header(`{"a":{`+f32(`[1,1]`)+`,"data_offsets":[4,0]}}`, make([]byte, 4)), want, "out of the"},
		{"negative offset", header(`{"a":{`+f32(`[1,1]`)+`,"data_offsets":[-4,0]}}`, make([]byte, 4)), want, "out of the"},
		{"shape disagrees with offsets", header(`{"a":{`+f32(`[2,1]`)+`,"data_offsets":[0,4]}}`, make([]byte, 4)), want, "needs 8 bytes"},
		{"negative dim", header(`{"a":{`+f32(`[-1]`)+`,"data_offsets":[0,4]}}`, make([]byte, 4)), want, "impossible shape"},
		{"huge shape", header(`{"a":{`+f32(`[4294967296,4294967296,16]`)+`,"data_offsets":[0,4]}}`, make([]byte, 4)), want, "impossible shape"},
		{"duplicate tensor", header(`{"a":{`+f32(`[1]`)+`,"data_offsets":[0,4]},"a":{`+f32(`[1]`)+`,"data_offsets":[4,8]}}`, make([]byte, 8)), want, "twice"},
		{"metadata not strings", header(`{"__metadata__":{"x":1}}`, nil), nil, "__metadata__"},
		{"missing tensor", good, want[:1:1], "does not have: b"},
		{"extra tensor", good, append(want[:2:2], Tensor{Name: "c", Shape: []int{1}, Data: make([]float32, 1)}), "missing 1 tensor(s) the model expects: c"},
		{"wrong shape", good, []Tensor{{Name: "a", Shape: []int{1}, Data: make([]float32, 1)}, want[1]}, "has shape [1 1], the model expects [1]"},
		{"wrong destination", good, []Tensor{{Name: "a", Shape: []int{1, 1}, Data: make([]float32, 3)}, want[1]}, "destination"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Decode(c.file, c.want)
			if err == nil {
				t.Fatal("accepted a bad file")
			}
			if !strings.Contains(err.Error(), c.msg) {
				t.Fatalf("error %q does not say %q", err, c.msg)
			}
		})
	}
}

// Weights that are not finite are refused, naming the tensor and value.
func TestNonFiniteRefused(t *testing.T) {
	for _, v := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1))} {
		file, err := Encode([]Tensor{{Name: "w", Shape: []int{3}, Data: []float32{1, v, 2}}}, nil)
		if err != nil {
			t.Fatal(err)
		}
		_, err = Decode(file, []Tensor{{Name: "w", Shape: []int{3}, Data: make([]float32, 3)}})
		if err == nil || !strings.Contains(err.Error(), `tensor "w": value 1 is`) || !strings.Contains(err.Error(), "not finite") {
			t.Errorf("weight %v: err = %v", v, err)
		}
	}
}

func TestReadMissingFile(t *testing.T) {
	if _, err := Read(filepath.Join(t.TempDir(), "none.safetensors"), nil); err == nil {
		t.Fatal("no error for a missing file")
	}
}

func TestEncodeRefuses(t *testing.T) {
	for _, ts := range [][]Tensor{
		{{Name: "a", Shape: []int{2}, Data: []float32{1}}},
		{{Name: "", Shape: []int{1}, Data: []float32{1}}},
		{{Name: "__metadata__", Shape: []int{1}, Data: []float32{1}}},
		{{Name: "a", Shape: []int{1}, Data: []float32{1}}, {Name: "a", Shape: []int{1}, Data: []float32{1}}},
		{{Name: "a", Shape: []int{-1}, Data: nil}},
	} {
		if _, err := Encode(ts, nil); err == nil {
			t.Errorf("Encode(%v) accepted", ts)
		}
	}
}

func TestWriteLeavesOldFileOnError(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "w.safetensors")
	if err := Write(path, tiny(), nil); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)
	if err := Write(path, []Tensor{{Name: "a", Shape: []int{3}, Data: []float32{1}}}, nil); err == nil {
		t.Fatal("bad write accepted")
	}
	after, _ := os.ReadFile(path)
	if !bytes.Equal(before, after) {
		t.Fatal("failed write changed the file")
	}
}

func FuzzRead(f *testing.F) {
	good, _ := Encode(tiny(), map[string]string{"k": "v"})
	f.Add(good)
	f.Add(good[:len(good)-1])
	f.Add(header(`{"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]}}`, make([]byte, 4)))
	f.Add(header(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[2],"data_offsets":[2,10]}}`, make([]byte, 10)))
	f.Add([]byte{})
	want := []Tensor{{Name: "a", Shape: []int{1, 1}, Data: make([]float32, 1)}, {Name: "b", Shape: []int{2}, Data: make([]float32, 2)}}
	f.Fuzz(func(t *testing.T, b []byte) {
		file, err := Parse(b)
		if err == nil {
			for _, ti := range file.Tensors {
				if ti.Dtype == "F32" {
					if _, err := file.Float32s(ti.Name); err != nil {
						t.Fatalf("parsed tensor %q unreadable: %v", ti.Name, err)
					}
				}
			}
		}
		_, _ = Decode(b, want)
	})
}
