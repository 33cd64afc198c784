package augment

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/boostershot/facet/internal/numrange"
)

// Step is an op applied with probability P.
type Step struct {
	Op Op
	P  float64
}

// Pipeline is a list of steps applied in order.
type Pipeline []Step

// DefaultSpec is a pipeline suited to face crops.
const DefaultSpec = "flip:0.5,jitter(b=0.25,c=0.25,s=0.25,h=0.03):0.8,affine(r=10,s=0.08,t=0.05):0.7," +
	"blur(s=0.3..1.2):0.15,noise(s=2..8):0.15,cutout(n=1,f=0.25):0.25,jpeg(q=40..90):0.2,gray:0.05"

// Apply runs the pipeline on m with rng and returns the result and the
// specs of the ops that ran. With the same rng state it gives the same
// bytes; a step with P 0 never runs and draws nothing.
func (p Pipeline) Apply(m *Image, rng *rand.Rand) (*Image, []string) {
	var ran []string
	for _, s := range p {
		if s.P <= 0 || (s.P < 1 && rng.Float64() >= s.P) {
			continue
		}
		m = s.Op.Apply(m, rng)
		ran = append(ran, s.Op.Spec())
	}
	return m, ran
}

// String is the pipeline as Parse reads it.
func (p Pipeline) String() string {
	parts := make([]string, len(p))
	for i, s := range p {
		parts[i] = s.Op.Spec() + ":" + ftoa(s.P)
	}
	return strings.Join(parts, ",")
}

// Parse reads a pipeline spec: ops separated by commas, each
// NAME[(KEY=VALUE,...)][:PROBABILITY], values a number or a range LO..HI.
//
//	flip:0.5,jitter(b=0.2,c=0.2,s=0.2,h=0.02):0.8,affine(r=10,s=0.1,t=0.05),blur(s=0.5..1.5):0.2
//
// Ops: flip, jitter(b,c,s,h), affine(r,s,t), blur(s), noise(s),
// cutout(n,f), jpeg(q), gray. A missing probability is 1.
func Parse(spec string) (Pipeline, error) {
	var p Pipeline
	for _, item := range splitTop(spec) {
		item = strings.TrimSpace(item)
		if item == "" {
			return nil, fmt.Errorf("augment spec %q: empty op", spec)
		}
		prob := 1.0
		head := item
		if i := strings.LastIndex(item, ":"); i > strings.LastIndex(item, ")") {
			v, err := numrange.ParseFloat(item[i+1:], numrange.Between(0, 1))
			if err != nil {
				return nil, fmt.Errorf("augment op %q: probability %w", item, err)
			}
			prob, head = v, item[:i]
		}
		name, args := head, ""
		if i := strings.Index(head, "("); i >= 0 {
			if !strings.HasSuffix(head, ")") {
				return nil, fmt.Errorf("augment op %q: unclosed (", item)
			}
			name, args = head[:i], head[i+1:len(head)-1]
		}
		kv, err := parseArgs(args)
		if err != nil {
			return nil, fmt.Errorf("augment op %q: %w", item, err)
		}
		op, err := newOp(strings.TrimSpace(name), kv)
		if err != nil {
			return nil, fmt.Errorf("augment op %q: %w", item, err)
		}
		p = append(p, Step{Op: op, P: prob})
	}
	if len(p) == 0 {
		return nil, fmt.Errorf("augment spec %q has no ops", spec)
	}
	return p, nil
}

// splitTop splits at commas outside parentheses.
func splitTop(s string) []string {
	var out []string
	depth, start := 0, 0
	for i, r := range s {
		switch r {
		case '(':
			depth++
		case ')':
			depth--
		case ',':
			if depth == 0 {
				out = append(out, s[start:i])
				start = i + 1
			}
		}
	}
	return append(out, s[start:])
}

func parseArgs(s string) (map[string]Range, error) {
	out := map[string]Range{}
	if strings.TrimSpace(s) == "" {
		return out, nil
	}
	for _, part := range strings.Split(s, ",") {
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" {
			return nil, fmt.Errorf("argument %q: want key=value", part)
		}
		if _, dup := out[k]; dup {
			return nil, fmt.Errorf("argument %s given twice", k)
		}
		lo, hi, isRange := strings.Cut(v, "..")
		a, err := numrange.ParseFloat(lo, numrange.Finite)
		if err != nil {
			return nil, fmt.Errorf("argument %s=%q: %w", k, v, err)
		}
		b := a
		if isRange {
			if b, err = numrange.ParseFloat(hi, numrange.Finite); err != nil || b < a {
				return nil, fmt.Errorf("argument %s=%q is not a range lo..hi of finite numbers", k, v)
			}
		}
		out[k] = Range{a, b}
	}
	return out, nil
}

// newOp builds an op from its name and arguments, checking every value.
func newOp(name string, kv map[string]Range) (Op, error) {
	allowed := map[string][]string{
		"flip": {}, "gray": {}, "jitter": {"b", "c", "s", "h"}, "affine": {"r", "s", "t"},
		"blur": {"s"}, "noise": {"s"}, "cutout": {"n", "f"}, "jpeg": {"q"},
	}
	keys, ok := allowed[name]
	if !ok {
		return nil, fmt.Errorf("unknown op %q (want flip, jitter, affine, blur, noise, cutout, jpeg, gray)", name)
	}
	for k := range kv {
		if !slices.Contains(keys, k) {
			return nil, fmt.Errorf("%s takes no argument %q (it takes %s)", name, k, strings.Join(keys, ", "))
		}
	}
	num := func(k string, def, lo, hi float64) (float64, error) {
		r, ok := kv[k]
		if !ok {
			return def, nil
		}
		if r.Lo != r.Hi {
			return 0, fmt.Errorf("%s: %s takes one number, not a range", name, k)
		}
		if r.Lo < lo || r.Lo > hi {
			return 0, fmt.Errorf("%s: %s=%g is outside %g..%g", name, k, r.Lo, lo, hi)
		}
		return r.Lo, nil
	}
	rng := func(k string, def Range, lo, hi float64) (Range, error) {
		r, ok := kv[k]
		if !ok {
			return def, nil
		}
		if r.Lo < lo || r.Hi > hi {
			return Range{}, fmt.Errorf("%s: %s=%s is outside %g..%g", name, k, rtoa(r), lo, hi)
		}
		return r, nil
	}
	var err error
	var vals [4]float64
	switch name {
	case "flip":
		return Flip{}, nil
	case "gray":
		return Gray{}, nil
	case "jitter":
		for i, k := range []string{"b", "c", "s"} {
			if vals[i], err = num(k, 0.2, 0, 1); err != nil {
				return nil, err
			}
		}
		if vals[3], err = num("h", 0.02, 0, 0.5); err != nil {
			return nil, err
		}
		return Jitter{vals[0], vals[1], vals[2], vals[3]}, nil
	case "affine":
		if vals[0], err = num("r", 10, 0, 180); err != nil {
			return nil, err
		}
		if vals[1], err = num("s", 0.1, 0, 0.9); err != nil {
			return nil, err
		}
		if vals[2], err = num("t", 0.05, 0, 0.5); err != nil {
			return nil, err
		}
		return Affine{vals[0], vals[1], vals[2]}, nil
	case "blur":
		r, err := rng("s", Range{0.5, 1.5}, 0, 20)
		return Blur{r}, err
	case "noise":
		r, err := rng("s", Range{2, 8}, 0, 128)
		return Noise{r}, err
	case "cutout":
		n, err := num("n", 1, 1, 20)
		if err != nil {
			return nil, err
		}
		if n != float64(int(n)) {
			return nil, fmt.Errorf("cutout: n=%g is not a whole number", n)
		}
		f, err := num("f", 0.25, 0.01, 1)
		return Cutout{int(n), f}, err
	case "jpeg":
		r, err := rng("q", Range{40, 90}, 1, 100)
		return JPEG{r}, err
	}
	return nil, fmt.Errorf("unknown op %q", name)
}

func ftoa(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }
func itoa(i int) string     { return strconv.Itoa(i) }
func rtoa(r Range) string {
	if r.Lo == r.Hi {
		return ftoa(r.Lo)
	}
	return ftoa(r.Lo) + ".." + ftoa(r.Hi)
}
