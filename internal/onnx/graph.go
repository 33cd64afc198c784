package onnx

import (
	"errors"
	"fmt"

	"google.golang.org/protobuf/encoding/protowire"
)

// MaxOpset is the newest default-domain opset Load accepts.
const MaxOpset = 17

// Field numbers of the ONNX protobuf messages read here (onnx/onnx.proto).
const (
	modelGraph       = 7 // ModelProto.graph
	modelOpsetImport = 8 // ModelProto.opset_import
	opsetDomain      = 1 // OperatorSetIdProto.domain
	opsetVersion     = 2 // OperatorSetIdProto.version
	graphNode        = 1 // GraphProto.node
	graphInitializer = 5 // GraphProto.initializer
	graphInput       = 11
	graphOutput      = 12
	graphValueInfo   = 13
	nodeInput        = 1 // NodeProto.input
	nodeOutput       = 2
	nodeName         = 3
	nodeOpType       = 4
	nodeDomain       = 7
	tensorName       = 8 // TensorProto.name
	valueName        = 1 // ValueInfoProto.name
	valueType        = 2 // ValueInfoProto.type
	typeTensor       = 1 // TypeProto.tensor_type
	tensorTypeShape  = 2 // TypeProto.Tensor.shape
	shapeDim         = 1 // TensorShapeProto.dim
	dimValue         = 1 // TensorShapeProto.Dimension.dim_value
	dimParam         = 2 // TensorShapeProto.Dimension.dim_param
	maxDeclaredDims  = 16
	unknownDim       = -1 // a symbolic or missing size in valueInfo.Dims
)

// graphInfo is what Load learns of a model's main graph while cleaning it.
type graphInfo struct {
	Opset   int64       // version of the default ("" or "ai.onnx") domain
	Nodes   int         // nodes after cleaning
	Removed int         // Identity nodes removed
	Inputs  []valueInfo // graph inputs that are not initializers
	Outputs []string    // graph outputs (as named before cleaning)
	alias   map[string]string
}

// valueInfo is a graph input: its name and declared shape (unknownDim for a
// symbolic or missing size; nil when the shape is not declared).
type valueInfo struct {
	Name string
	Dims []int64
}

// Tensor returns the name that graph output out has in the cleaned graph:
// itself, unless an Identity made it a second name of another output.
func (g *graphInfo) Tensor(out string) string {
	if t, ok := g.alias[out]; ok {
		return t
	}
	return out
}

// field is one protobuf field of a message, kept as its raw bytes.
type field struct {
	num    protowire.Number
	typ    protowire.Type
	raw    []byte // tag and value, as read
	val    []byte // the value of a bytes field
	varint uint64
}

// fields splits a message into its fields; what names the message in errors.
func fields(b []byte, what string) ([]field, error) {
	var fs []field
	for off := 0; off < len(b); {
		num, typ, n := protowire.ConsumeTag(b[off:])
		if n < 0 {
			return nil, fmt.Errorf("%s: bad field tag at byte %d: %v", what, off, protowire.ParseError(n))
		}
		m := protowire.ConsumeFieldValue(num, typ, b[off+n:])
		if m < 0 {
			return nil, fmt.Errorf("%s: field %d at byte %d: %v", what, num, off, protowire.ParseError(m))
		}
		f := field{num: num, typ: typ, raw: b[off : off+n+m]}
		switch typ {
		case protowire.BytesType:
			f.val, _ = protowire.ConsumeBytes(b[off+n:])
		case protowire.VarintType:
			f.varint, _ = protowire.ConsumeVarint(b[off+n:])
		}
		fs = append(fs, f)
		off += n + m
	}
	return fs, nil
}

// node is a NodeProto with the fields the cleaner reads.
type node struct {
	f       []field
	inputs  []string
	outputs []string
	name    string
	op      string
	domain  string
	drop    bool
}

func parseNode(b []byte, i int) (*node, error) {
	fs, err := fields(b, fmt.Sprintf("node %d", i))
	if err != nil {
		return nil, err
	}
	n := &node{f: fs}
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			switch f.num {
			case nodeInput, nodeOutput, nodeName, nodeOpType, nodeDomain:
				return nil, fmt.Errorf("node %d: field %d has wire type %d, want bytes", i, f.num, f.typ)
			}
			continue
		}
		switch f.num {
		case nodeInput:
			n.inputs = append(n.inputs, string(f.val))
		case nodeOutput:
			n.outputs = append(n.outputs, string(f.val))
		case nodeName:
			n.name = string(f.val)
		case nodeOpType:
			n.op = string(f.val)
		case nodeDomain:
			n.domain = string(f.val)
		}
	}
	return n, nil
}

// bytes returns the node's encoding with its inputs and outputs as they
// are now and every other field as it was read.
func (n *node) bytes() []byte {
	var b []byte
	in, out := 0, 0
	for _, f := range n.f {
		switch {
		case f.num == nodeInput && f.typ == protowire.BytesType:
			b = protowire.AppendTag(b, nodeInput, protowire.BytesType)
			b = protowire.AppendString(b, n.inputs[in])
			in++
		case f.num == nodeOutput && f.typ == protowire.BytesType:
			b = protowire.AppendTag(b, nodeOutput, protowire.BytesType)
			b = protowire.AppendString(b, n.outputs[out])
			out++
		default:
			b = append(b, f.raw...)
		}
	}
	return b
}

// stringField returns the first bytes field num of msg as a string.
func stringField(msg []byte, num protowire.Number, what string) (string, error) {
	fs, err := fields(msg, what)
	if err != nil {
		return "", err
	}
	for _, f := range fs {
		if f.num == num && f.typ == protowire.BytesType {
			return string(f.val), nil
		}
	}
	return "", nil
}

// clean parses an ONNX model (ModelProto), removes the Identity nodes of
// its main graph and returns the model re-encoded, with every field it
// did not change kept byte for byte, and what it learnt of the graph.
//
// An Identity's consumers are rewired to its input. When its output is a
// graph output, the producer of its input is renamed to that output
// instead (everywhere), so graph output names stay valid; where that
// cannot be done (the input is a graph input, an initializer, another
// graph output or already renamed), the graph output is dropped from the
// graph and becomes an alias of the input's name (graphInfo.Tensor).
func clean(model []byte) ([]byte, *graphInfo, error) {
	if len(model) == 0 {
		return nil, nil, errors.New("empty file")
	}
	mf, err := fields(model, "model")
	if err != nil {
		return nil, nil, err
	}
	g := &graphInfo{Opset: -1}
	graphAt := -1
	for i, f := range mf {
		switch f.num {
		case modelGraph:
			if f.typ != protowire.BytesType {
				return nil, nil, fmt.Errorf("model: graph field has wire type %d, want bytes", f.typ)
			}
			graphAt = i
		case modelOpsetImport:
			if f.typ != protowire.BytesType {
				return nil, nil, fmt.Errorf("model: opset_import field has wire type %d, want bytes", f.typ)
			}
			ofs, err := fields(f.val, "opset_import")
			if err != nil {
				return nil, nil, err
			}
			domain, version := "", int64(-1)
			for _, o := range ofs {
				switch {
				case o.num == opsetDomain && o.typ == protowire.BytesType:
					domain = string(o.val)
				case o.num == opsetVersion && o.typ == protowire.VarintType:
					version = int64(o.varint)
				}
			}
			if domain == "" || domain == "ai.onnx" {
				g.Opset = version
			}
		}
	}
	if graphAt < 0 {
		return nil, nil, errors.New("no graph in the file (not an ONNX model?)")
	}
	if g.Opset < 0 {
		return nil, nil, errors.New("no opset_import for the default ONNX domain (not an ONNX model?)")
	}
	newGraph, err := cleanGraph(mf[graphAt].val, g)
	if err != nil {
		return nil, nil, err
	}
	out := make([]byte, 0, len(model))
	for i, f := range mf {
		if i == graphAt {
			out = protowire.AppendTag(out, modelGraph, protowire.BytesType)
			out = protowire.AppendBytes(out, newGraph)
			continue
		}
		out = append(out, f.raw...)
	}
	return out, g, nil
}

func cleanGraph(b []byte, g *graphInfo) ([]byte, error) {
	gf, err := fields(b, "graph")
	if err != nil {
		return nil, err
	}
	var nodes []*node
	nodeAt := map[int]*node{} // field index -> node
	inits := map[string]bool{}
	var inputs []valueInfo
	outputs := map[string]bool{}
	for i, f := range gf {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case graphNode:
			n, err := parseNode(f.val, len(nodes))
			if err != nil {
				return nil, err
			}
			nodes = append(nodes, n)
			nodeAt[i] = n
		case graphInitializer:
			name, err := stringField(f.val, tensorName, "initializer")
			if err != nil {
				return nil, err
			}
			inits[name] = true
		case graphInput:
			v, err := parseValue(f.val)
			if err != nil {
				return nil, err
			}
			inputs = append(inputs, v)
		case graphOutput:
			name, err := stringField(f.val, valueName, "graph output")
			if err != nil {
				return nil, err
			}
			g.Outputs = append(g.Outputs, name)
			outputs[name] = true
		}
	}
	if len(nodes) == 0 {
		return nil, errors.New("graph has no nodes (not an ONNX model?)")
	}
	if len(g.Outputs) == 0 {
		return nil, errors.New("graph has no outputs (not an ONNX model?)")
	}
	graphIn := map[string]bool{}
	for _, v := range inputs {
		if !inits[v.Name] {
			g.Inputs = append(g.Inputs, v)
			graphIn[v.Name] = true
		}
	}

	// producer of each tensor; Identity sources followed through chains.
	producer := map[string]*node{}
	for _, n := range nodes {
		for _, o := range n.outputs {
			producer[o] = n
		}
	}
	isIdentity := func(n *node) bool {
		return n.op == "Identity" && (n.domain == "" || n.domain == "ai.onnx") &&
			len(n.inputs) == 1 && len(n.outputs) == 1 && n.inputs[0] != ""
	}
	source := func(t string) string {
		for range len(nodes) + 1 { // a cycle ends the walk
			p := producer[t]
			if p == nil || !isIdentity(p) {
				return t
			}
			t = p.inputs[0]
		}
		return t
	}

	rename := map[string]string{} // tensor -> new name, for every use
	g.alias = map[string]string{}
	dropOut := map[string]bool{}
	claimed := map[string]bool{} // sources renamed to a graph output
	for _, n := range nodes {
		if !isIdentity(n) {
			continue
		}
		y := n.outputs[0]
		s := source(y)
		if s == y { // a cycle of Identities: leave it for OpenCV to refuse
			continue
		}
		n.drop = true
		g.Removed++
		if !outputs[y] {
			rename[y] = s
			continue
		}
		p := producer[s]
		if p != nil && !isIdentity(p) && !outputs[s] && !graphIn[s] && !inits[s] && !claimed[s] {
			claimed[s] = true
			rename[s] = y
			continue
		}
		if p == nil && !graphIn[s] && !inits[s] {
			n.drop = false // its input exists nowhere: let OpenCV say so
			g.Removed--
			continue
		}
		if graphIn[s] || inits[s] {
			n.drop = false // nothing to name: OpenCV will refuse the node
			g.Removed--
			continue
		}
		dropOut[y] = true
		g.alias[y] = s
	}
	if g.Removed == 0 {
		g.Nodes = len(nodes)
		return b, nil
	}
	// A renamed source may itself be the source of other Identities.
	final := func(t string) string {
		for range len(nodes) + 1 {
			r, ok := rename[t]
			if !ok {
				break
			}
			t = r
		}
		return t
	}
	for y, s := range g.alias {
		g.alias[y] = final(s)
	}
	var kept []*node
	for _, n := range nodes {
		if n.drop {
			continue
		}
		kept = append(kept, n)
		for i, t := range n.inputs {
			if r := final(t); r != t {
				n.inputs[i] = r
			}
		}
		for i, t := range n.outputs {
			if r, ok := rename[t]; ok && claimed[t] {
				n.outputs[i] = r
			}
		}
	}
	g.Nodes = len(kept)

	out := make([]byte, 0, len(b))
	seenInfo := map[string]bool{}
	for i, f := range gf {
		switch {
		case nodeAt[i] != nil:
			n := nodeAt[i]
			if n.drop {
				continue
			}
			out = protowire.AppendTag(out, graphNode, protowire.BytesType)
			out = protowire.AppendBytes(out, n.bytes())
		case f.num == graphOutput && f.typ == protowire.BytesType:
			name, _ := stringField(f.val, valueName, "graph output")
			if dropOut[name] {
				continue
			}
			out = append(out, f.raw...)
		case f.num == graphValueInfo && f.typ == protowire.BytesType:
			// Shapes of intermediate tensors: drop those of names gone,
			// rename those renamed.
			name, err := stringField(f.val, valueName, "value_info")
			if err != nil {
				return nil, err
			}
			if _, gone := rename[name]; gone && !claimed[name] || seenInfo[final(name)] {
				continue
			}
			if r := final(name); r != name {
				out = protowire.AppendTag(out, graphValueInfo, protowire.BytesType)
				out = protowire.AppendBytes(out, setStringField(f.val, valueName, r))
				seenInfo[r] = true
				continue
			}
			seenInfo[name] = true
			out = append(out, f.raw...)
		default:
			out = append(out, f.raw...)
		}
	}
	return out, nil
}

// setStringField returns msg with its bytes field num set to s.
func setStringField(msg []byte, num protowire.Number, s string) []byte {
	fs, _ := fields(msg, "")
	var b []byte
	for _, f := range fs {
		if f.num == num && f.typ == protowire.BytesType {
			b = protowire.AppendTag(b, num, protowire.BytesType)
			b = protowire.AppendString(b, s)
			continue
		}
		b = append(b, f.raw...)
	}
	return b
}

// parseValue reads a graph input's name and declared tensor shape.
func parseValue(b []byte) (valueInfo, error) {
	fs, err := fields(b, "graph input")
	if err != nil {
		return valueInfo{}, err
	}
	var v valueInfo
	for _, f := range fs {
		if f.typ != protowire.BytesType {
			continue
		}
		switch f.num {
		case valueName:
			v.Name = string(f.val)
		case valueType:
			v.Dims = declaredDims(f.val)
		}
	}
	return v, nil
}

// declaredDims reads TypeProto.tensor_type.shape; nil when absent or
// unreadable (the shape is only used to word errors better).
func declaredDims(typ []byte) []int64 {
	sub := func(b []byte, num protowire.Number) []byte {
		fs, err := fields(b, "")
		if err != nil {
			return nil
		}
		for _, f := range fs {
			if f.num == num && f.typ == protowire.BytesType {
				return f.val
			}
		}
		return nil
	}
	shape := sub(sub(typ, typeTensor), tensorTypeShape)
	if shape == nil {
		return nil
	}
	fs, err := fields(shape, "")
	if err != nil {
		return nil
	}
	dims := []int64{}
	for _, f := range fs {
		if f.num != shapeDim || f.typ != protowire.BytesType {
			continue
		}
		d := int64(unknownDim)
		if df, err := fields(f.val, ""); err == nil {
			for _, x := range df {
				if x.num == dimValue && x.typ == protowire.VarintType && int64(x.varint) > 0 {
					d = int64(x.varint)
				}
			}
		}
		dims = append(dims, d)
		if len(dims) > maxDeclaredDims {
			return nil
		}
	}
	return dims
}
