package onnx

import (
	"bytes"
	"os"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
)

func readFixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile("testdata/" + name + ".onnx")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// nodesOf returns the (op, inputs, outputs) of each node of a cleaned model.
func nodesOf(t *testing.T, model []byte) []*node {
	t.Helper()
	mf, err := fields(model, "model")
	if err != nil {
		t.Fatal(err)
	}
	var nodes []*node
	for _, f := range mf {
		if f.num != modelGraph {
			continue
		}
		gf, err := fields(f.val, "graph")
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range gf {
			if f.num == graphNode {
				n, err := parseNode(f.val, len(nodes))
				if err != nil {
					t.Fatal(err)
				}
				nodes = append(nodes, n)
			}
		}
	}
	return nodes
}

func TestCleanIdentity(t *testing.T) {
	raw := readFixture(t, "identity")
	cleaned, g, err := clean(raw)
	if err != nil {
		t.Fatal(err)
	}
	if g.Removed != 5 || g.Opset != 13 {
		t.Errorf("removed %d Identity nodes at opset %d, want 5 at 13", g.Removed, g.Opset)
	}
	produced := map[string]bool{}
	for _, n := range nodesOf(t, cleaned) {
		if n.op == "Identity" {
			t.Errorf("Identity node %q left", n.name)
		}
		for _, o := range n.outputs {
			produced[o] = true
		}
	}
	// age keeps its name (its producer renamed), mask_copy is an alias
	// of mask and no longer a graph output of the cleaned model.
	for _, out := range []string{"mask", "gender", "age"} {
		if !produced[out] {
			t.Errorf("no node makes graph output %q", out)
		}
	}
	if produced["age_pre"] {
		t.Error("age_pre still produced")
	}
	if got := g.Tensor("mask_copy"); got != "mask" {
		t.Errorf("mask_copy is %q in the cleaned graph, want mask", got)
	}
	if !slices.Equal(g.Outputs, []string{"mask", "gender", "age", "mask_copy"}) {
		t.Errorf("outputs %q", g.Outputs)
	}
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "input" || !slices.Equal(g.Inputs[0].Dims, []int64{unknownDim, 3, 32, 32}) {
		t.Errorf("inputs %+v", g.Inputs)
	}
	// Cleaning is idempotent, and a model without Identity is kept byte
	// for byte.
	again, g2, err := clean(cleaned)
	if err != nil || g2.Removed != 0 || !bytes.Equal(again, cleaned) {
		t.Errorf("second clean: err %v, removed %d, same bytes %v", err, g2.Removed, bytes.Equal(again, cleaned))
	}
}

func TestCleanKeepsBytes(t *testing.T) {
	for _, name := range []string{"three", "single18", "unsupported", "opset17", "fixed", "gray"} {
		t.Run(name, func(t *testing.T) {
			raw := readFixture(t, name)
			cleaned, g, err := clean(raw)
			if err != nil {
				t.Fatal(err)
			}
			if g.Removed != 0 || !bytes.Equal(cleaned, raw) {
				t.Errorf("removed %d, bytes changed %v", g.Removed, !bytes.Equal(cleaned, raw))
			}
		})
	}
}

// model builds a ModelProto with one graph of the given nodes
// ([op, inputs..., "->", outputs...]), initializers, inputs and outputs.
func model(opset int64, nodes [][]string, inits, inputs, outputs []string) []byte {
	str := func(b []byte, num protowire.Number, s string) []byte {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendString(b, s)
	}
	msg := func(b []byte, num protowire.Number, m []byte) []byte {
		b = protowire.AppendTag(b, num, protowire.BytesType)
		return protowire.AppendBytes(b, m)
	}
	var g []byte
	for i, n := range nodes {
		var nb []byte
		arrow := slices.Index(n, "->")
		for _, in := range n[1:arrow] {
			nb = str(nb, nodeInput, in)
		}
		for _, out := range n[arrow+1:] {
			nb = str(nb, nodeOutput, out)
		}
		nb = str(nb, nodeName, "n"+string(rune('a'+i)))
		nb = str(nb, nodeOpType, n[0])
		g = msg(g, graphNode, nb)
	}
	for _, s := range inits {
		g = msg(g, graphInitializer, str(nil, tensorName, s))
	}
	for _, s := range inputs {
		g = msg(g, graphInput, str(nil, valueName, s))
	}
	for _, s := range outputs {
		g = msg(g, graphOutput, str(nil, valueName, s))
	}
	var m []byte
	m = protowire.AppendTag(m, 1, protowire.VarintType) // ir_version
	m = protowire.AppendVarint(m, 8)
	m = msg(m, modelGraph, g)
	var o []byte
	o = protowire.AppendTag(o, opsetVersion, protowire.VarintType)
	o = protowire.AppendVarint(o, uint64(opset))
	return msg(m, modelOpsetImport, o)
}

func TestCleanCases(t *testing.T) {
	cases := []struct {
		name    string
		nodes   [][]string
		inits   []string
		outputs []string
		want    [][]string // nodes after cleaning
		alias   map[string]string
		removed int
	}{
		{name: "middle", nodes: [][]string{{"Relu", "x", "->", "a"}, {"Identity", "a", "->", "b"}, {"Relu", "b", "->", "y"}},
			outputs: []string{"y"}, removed: 1,
			want: [][]string{{"Relu", "x", "->", "a"}, {"Relu", "a", "->", "y"}}},
		{name: "chain to output", nodes: [][]string{{"Relu", "x", "->", "a"}, {"Identity", "a", "->", "b"}, {"Identity", "b", "->", "y"}, {"Relu", "b", "->", "z"}},
			outputs: []string{"y", "z"}, removed: 2,
			want: [][]string{{"Relu", "x", "->", "y"}, {"Relu", "y", "->", "z"}}},
		{name: "initializer", nodes: [][]string{{"Identity", "w", "->", "w2"}, {"Conv", "x", "w2", "->", "y"}},
			inits: []string{"w"}, outputs: []string{"y"}, removed: 1,
			want: [][]string{{"Conv", "x", "w", "->", "y"}}},
		{name: "output of output", nodes: [][]string{{"Relu", "x", "->", "y"}, {"Identity", "y", "->", "y2"}},
			outputs: []string{"y", "y2"}, removed: 1, alias: map[string]string{"y2": "y"},
			want: [][]string{{"Relu", "x", "->", "y"}}},
		{name: "two outputs one tensor", nodes: [][]string{{"Relu", "x", "->", "a"}, {"Identity", "a", "->", "y1"}, {"Identity", "a", "->", "y2"}},
			outputs: []string{"y1", "y2"}, removed: 2, alias: map[string]string{"y2": "y1"},
			want: [][]string{{"Relu", "x", "->", "y1"}}},
		{name: "output is the input", nodes: [][]string{{"Identity", "x", "->", "y"}},
			outputs: []string{"y"}, removed: 0,
			want: [][]string{{"Identity", "x", "->", "y"}}},
		{name: "cycle", nodes: [][]string{{"Identity", "b", "->", "a"}, {"Identity", "a", "->", "b"}, {"Relu", "x", "->", "y"}},
			outputs: []string{"y"}, removed: 0,
			want: [][]string{{"Identity", "b", "->", "a"}, {"Identity", "a", "->", "b"}, {"Relu", "x", "->", "y"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cleaned, g, err := clean(model(13, c.nodes, c.inits, []string{"x"}, c.outputs))
			if err != nil {
				t.Fatal(err)
			}
			if g.Removed != c.removed {
				t.Errorf("removed %d, want %d", g.Removed, c.removed)
			}
			var got [][]string
			for _, n := range nodesOf(t, cleaned) {
				got = append(got, append(append(append([]string{n.op}, n.inputs...), "->"), n.outputs...))
			}
			if !slices.EqualFunc(got, c.want, slices.Equal) {
				t.Errorf("nodes\n%q\nwant\n%q", got, c.want)
			}
			for out, tensor := range c.alias {
				if g.Tensor(out) != tensor {
					t.Errorf("output %q is tensor %q, want %q", out, g.Tensor(out), tensor)
				}
			}
		})
	}
}

func TestCleanErrors(t *testing.T) {
	three := readFixture(t, "three")
	cases := []struct {
		name  string
		model []byte
		want  string
	}{
		{"empty", nil, "empty file"},
		{"truncated", three[:100], "unexpected EOF"},
		{"one byte", []byte{0x3a}, "unexpected EOF"},
		{"no graph", protowire.AppendVarint(protowire.AppendTag(nil, 1, protowire.VarintType), 8), "no graph"},
		{"graph not bytes", protowire.AppendVarint(protowire.AppendTag(nil, modelGraph, protowire.VarintType), 8), "graph field has wire type 0"},
		{"no nodes", model(13, nil, nil, []string{"x"}, []string{"y"}), "no nodes"},
		{"no outputs", model(13, [][]string{{"Relu", "x", "->", "y"}}, nil, []string{"x"}, nil), "no outputs"},
		{"no opset", three[:bytes.LastIndex(three, []byte{0x42, 0x02, 0x10, 0x0d})], "no opset_import"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, _, err := clean(c.model)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("err %v, want %q", err, c.want)
			}
		})
	}
}

// FuzzClean: the cleaner reads files from outside and must never panic;
// what it accepts it must accept again after cleaning, unchanged.
func FuzzClean(f *testing.F) {
	for _, name := range []string{"three", "identity", "single18"} {
		f.Add(readFixture(f, name))
	}
	f.Add(model(13, [][]string{{"Relu", "x", "->", "a"}, {"Identity", "a", "->", "y"}, {"Identity", "y", "->", "y2"}}, []string{"w"}, []string{"x"}, []string{"y", "y2"}))
	f.Fuzz(func(t *testing.T, b []byte) {
		cleaned, g, err := clean(b)
		if err != nil {
			return
		}
		again, g2, err := clean(cleaned)
		if err != nil {
			t.Fatalf("cleaned model does not parse: %v", err)
		}
		if g2.Opset != g.Opset {
			t.Fatalf("opset %d, then %d", g.Opset, g2.Opset)
		}
		_ = again
	})
}
