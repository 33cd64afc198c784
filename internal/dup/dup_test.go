package dup

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/apache/arrow-go/v18/arrow"
	"github.com/apache/arrow-go/v18/arrow/array"
	"github.com/apache/arrow-go/v18/arrow/memory"
	"github.com/corona10/goimagehash"
	"golang.org/x/image/draw"
)

// face draws a smooth synthetic picture (blobs on a gradient), different
// for each seed.
func face(seed uint64, side int) *image.RGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewRGBA(image.Rect(0, 0, side, side))
	type blob struct{ x, y, r, v float64 }
	var blobs []blob
	for range 6 {
		blobs = append(blobs, blob{rng.Float64(), rng.Float64(), 0.08 + 0.2*rng.Float64(), 60 + 150*rng.Float64()})
	}
	for y := range side {
		for x := range side {
			fx, fy := float64(x)/float64(side), float64(y)/float64(side)
			v := 40 + 60*fy
			for _, b := range blobs {
				if d := (fx-b.x)*(fx-b.x) + (fy-b.y)*(fy-b.y); d < b.r*b.r {
					v = b.v
				}
			}
			g := uint8(min(255, v))
			img.Set(x, y, color.RGBA{g, uint8(min(255, v*0.8)), uint8(min(255, v*0.6)), 255})
		}
	}
	return img
}

func reencode(tb testing.TB, img image.Image, q int) image.Image {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: q}); err != nil {
		tb.Fatal(err)
	}
	out, err := jpeg.Decode(&buf)
	if err != nil {
		tb.Fatal(err)
	}
	return out
}

func scaled(img image.Image, side int) image.Image {
	dst := image.NewRGBA(image.Rect(0, 0, side, side))
	draw.BiLinear.Scale(dst, dst.Bounds(), img, img.Bounds(), draw.Src, nil)
	return dst
}

func TestHashStable(t *testing.T) {
	orig := face(1, 224)
	h := FromImage(orig)
	for _, tc := range []struct {
		name    string
		img     image.Image
		maxDist int
	}{
		{"itself", orig, 0},
		{"jpeg q90", reencode(t, orig, 90), 2},
		{"jpeg q50", reencode(t, orig, 50), 4},
		{"half size", scaled(orig, 112), 4},
		{"1.5x size", scaled(orig, 336), 4},
		{"grey image", toGray(orig), 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if d := Distance(h, FromImage(tc.img)); d > tc.maxDist {
				t.Errorf("distance %d from the original, want <= %d", d, tc.maxDist)
			}
		})
	}
	t.Run("different pictures", func(t *testing.T) {
		for seed := uint64(2); seed < 12; seed++ {
			if d := Distance(h, FromImage(face(seed, 224))); d <= DefaultDistance {
				t.Errorf("seed %d: distance %d, want > %d", seed, d, DefaultDistance)
			}
		}
	})
}

func toGray(img image.Image) image.Image {
	g := image.NewGray(img.Bounds())
	draw.Draw(g, g.Bounds(), img, image.Point{}, draw.Src)
	return g
}

func TestFromGrayEdges(t *testing.T) {
	for _, tc := range []struct {
		name          string
		pix           []byte
		w, h, stride  int
		want, nonzero bool
	}{
		{"empty", nil, 0, 0, 0, true, false},
		{"short buffer", make([]byte, 10), 4, 4, 4, true, false},
		{"stride below width", make([]byte, 100), 10, 10, 5, true, false},
		{"constant", bytes.Repeat([]byte{7}, 64*64), 64, 64, 64, true, false},
		{"tiny 3x3 gradient", []byte{0, 50, 100, 50, 100, 150, 100, 150, 250}, 3, 3, 3, false, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := FromGray(tc.pix, tc.w, tc.h, tc.stride)
			if tc.want && h != 0 {
				t.Errorf("hash %x, want 0", h)
			}
			if tc.nonzero && h == 0 {
				t.Error("hash 0, want bits set")
			}
		})
	}
}

func TestDistance(t *testing.T) {
	for _, tc := range []struct {
		name string
		a, b Hash
		want int
	}{
		{"equal", 0xdeadbeef, 0xdeadbeef, 0},
		{"one bit", 0, 1 << 63, 1},
		{"all bits", 0, ^Hash(0), 64},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Distance(tc.a, tc.b); got != tc.want {
				t.Errorf("Distance = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestGroups(t *testing.T) {
	for _, tc := range []struct {
		name   string
		hashes []Hash
		ok     []bool
		dist   int
		want   []int
	}{
		{"no rows", nil, nil, 8, []int{}},
		{"all alone", []Hash{0, 0xffff, 0xffff0000}, nil, 4, []int{-1, -1, -1}},
		{"identical pair", []Hash{5, 0xff00, 5}, nil, 0, []int{0, -1, 0}},
		{"within distance", []Hash{0b1111, 0xff00ff00, 0b0011}, nil, 2, []int{0, -1, 0}},
		{"beyond distance", []Hash{0b1111, 0b0000}, nil, 3, []int{-1, -1}},
		{"chain links three", []Hash{0, 0b11, 0b1111, 0xffff0000}, nil, 2, []int{0, 0, 0, -1}},
		{"group id is its smallest row", []Hash{0xf0f0, 1, 0xff, 0}, nil, 1, []int{-1, 1, -1, 1}},
		{"rows without a hash stay alone", []Hash{7, 7, 7}, []bool{true, false, true}, 0, []int{0, -1, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Groups(len(tc.hashes), Near(tc.hashes, nil, tc.ok, tc.dist))
			if !slices.Equal(got, tc.want) {
				t.Errorf("Groups = %v, want %v", got, tc.want)
			}
		})
	}
}

// TestNearMatchesBruteForce checks Near (distinct hashes, workers)
// against the plain double loop.
func TestNearMatchesBruteForce(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	hashes := make([]Hash, 6000)
	for i := range hashes {
		if i > 0 && rng.IntN(5) == 0 {
			hashes[i] = hashes[rng.IntN(i)] ^ Hash(1)<<rng.IntN(64) ^ Hash(1)<<rng.IntN(64)
		} else {
			hashes[i] = Hash(rng.Uint64())
		}
	}
	u := NewUnionFind(len(hashes))
	for i := range hashes {
		for j := i + 1; j < len(hashes); j++ {
			if Distance(hashes[i], hashes[j]) <= 6 {
				u.Union(i, j)
			}
		}
	}
	got := Groups(len(hashes), Near(hashes, nil, nil, 6))
	for i := range hashes {
		for j := i + 1; j < len(hashes); j += 97 {
			if same := u.Find(i) == u.Find(j); same != (got[i] >= 0 && got[i] == got[j]) {
				t.Fatalf("rows %d, %d: brute force says linked %t, Groups %v, %v", i, j, same, got[i], got[j])
			}
		}
	}
}

func TestConflicts(t *testing.T) {
	l := func(mask, gender, ag int8, age int16) Labels { return Labels{mask, gender, ag, age} }
	for _, tc := range []struct {
		name   string
		groups []int
		labels []Labels
		want   []Conflict
	}{
		{"alone rows never conflict", []int{-1, -1}, []Labels{l(0, 0, 0, 20), l(2, 1, 2, 70)}, nil},
		{"agreeing group", []int{0, 0}, []Labels{l(2, 1, 0, 20), l(2, 1, 0, 23)}, nil},
		{"unknown labels never conflict", []int{0, 0}, []Labels{l(-1, -1, -1, -1), l(2, 1, 0, 23)}, nil},
		{"gender tie goes to the first row", []int{0, 0}, []Labels{l(2, 0, 0, 20), l(2, 1, 0, 20)},
			[]Conflict{{Group: 0, Row: 1, Other: 0, Field: FieldGender, Value: 1, Ref: 0, Tie: true}}},
		{"majority wins", []int{0, 0, 0}, []Labels{l(2, 1, 0, 20), l(2, 0, 0, 20), l(2, 0, 0, 20)},
			[]Conflict{{Group: 0, Row: 0, Other: 1, Field: FieldGender, Value: 1, Ref: 0}}},
		{"age beyond the gap", []int{-1, 1, 1}, []Labels{l(2, 1, 0, 5), l(2, 1, 0, 26), l(2, 1, 2, 80)},
			[]Conflict{
				{Group: 1, Row: 2, Other: 1, Field: FieldAgeGroup, Value: 2, Ref: 0, Tie: true},
				{Group: 1, Row: 2, Other: 1, Field: FieldAge, Value: 80, Ref: 26, Tie: true},
			}},
		{"age within the gap", []int{0, 0, 0}, []Labels{l(2, 1, 0, 18), l(2, 1, 0, 21), l(2, 1, 0, 23)}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Conflicts(tc.groups, tc.labels, 5)
			if !slices.Equal(got, tc.want) {
				t.Errorf("Conflicts = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// BenchmarkHash: facet's hash of a decoded 224x224 crop against decoding
// it alone (image/jpeg) and goimagehash's PerceptionHash, one core.
func BenchmarkHash(b *testing.B) {
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, face(1, 224), &jpeg.Options{Quality: 95}); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		b.Fatal(err)
	}
	b.Run("decode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := jpeg.Decode(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("hash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			FromImage(img)
		}
	})
	b.Run("hash+edges", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			FromImageEdges(img)
		}
	})
	b.Run("goimagehash", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := goimagehash.PerceptionHash(img); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkNear groups 35,000 random hashes (a big table) at the default
// distance, all cores: the hashes alone, and with edges as facet-crop
// writes them (each edge hash here the row's hash with 12 random bits
// flipped; on real UTKFace faces the farthest of a row's eight lies
// 6-18 bits from its hash).
func BenchmarkNear(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	hashes := make([]Hash, 35000)
	edges := make([]Edges, len(hashes))
	for i := range hashes {
		hashes[i] = Hash(rng.Uint64())
		for k := range edges[i] {
			edges[i][k] = hashes[i]
			for range 12 {
				edges[i][k] ^= 1 << rng.IntN(64)
			}
		}
	}
	b.Run("hash", func(b *testing.B) {
		for b.Loop() {
			Groups(len(hashes), Near(hashes, nil, nil, DefaultDistance))
		}
	})
	b.Run("edges", func(b *testing.B) {
		for b.Loop() {
			Groups(len(hashes), Near(hashes, edges, nil, DefaultDistance))
		}
	})
}

func TestEdgesLinkTighterCrops(t *testing.T) {
	orig := face(1, 224)
	h, e := FromImageEdges(orig)
	if e == (Edges{}) {
		t.Fatal("no edges taken")
	}
	for _, cut := range []image.Rectangle{
		image.Rect(7, 0, 224, 224),  // 3% off the left
		image.Rect(0, 0, 215, 224),  // 4% off the right
		image.Rect(0, 11, 224, 224), // 5% off the top
	} {
		tight := orig.SubImage(cut)
		th, te := FromImageEdges(tight)
		// Either side's edges reach the other: the cut copy first or second.
		if d := Dist(h, &e, th, &te); d > DefaultDistance {
			t.Errorf("%v: Dist %d (hash alone %d), want <= %d", cut, d, Distance(h, th), DefaultDistance)
		}
		if d := Dist(th, &te, h, &e); d > DefaultDistance {
			t.Errorf("%v reversed: Dist %d, want <= %d", cut, d, DefaultDistance)
		}
	}
	for seed := uint64(2); seed < 12; seed++ {
		oh, oe := FromImageEdges(face(seed, 224))
		if d := Dist(h, &e, oh, &oe); d <= DefaultDistance {
			t.Errorf("seed %d: Dist %d to a different picture, want > %d", seed, d, DefaultDistance)
		}
	}
	// Zero edges are none: Dist is the hashes' Distance.
	var none Edges
	if d, want := Dist(h, &none, h^0b111, &none), 3; d != want {
		t.Errorf("Dist without edges = %d, want %d", d, want)
	}
}

// edgeTable is one batch with crop_hash and crop_hash_edges columns; a nil
// entry of edges is a null list, and lens sets each list's length.
func edgeTable(t *testing.T, hashes []Hash, edges [][]uint64) arrow.RecordBatch {
	t.Helper()
	mem := memory.DefaultAllocator
	schema := arrow.NewSchema([]arrow.Field{
		{Name: ColHash, Type: arrow.PrimitiveTypes.Uint64, Nullable: true},
		{Name: ColEdges, Type: EdgesType, Nullable: true},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	hb := b.Field(0).(*array.Uint64Builder)
	lb := b.Field(1).(*array.ListBuilder)
	vb := lb.ValueBuilder().(*array.Uint64Builder)
	for i, h := range hashes {
		hb.Append(uint64(h))
		if edges[i] == nil {
			lb.AppendNull()
			continue
		}
		lb.Append(true)
		vb.AppendValues(edges[i], nil)
	}
	return b.NewRecordBatch()
}

func TestTableGroupsEdges(t *testing.T) {
	a, b, c := Hash(0), ^Hash(0), Hash(0x5555_5555_5555_5555)
	// b is 64 bits from a, but one of b's edges is a: linked. c is far
	// from both and its edges too.
	edges := [][]uint64{
		{1, 2, 3, 4, 5, 6, 7, 8},
		{9, 9, 9, uint64(a) ^ 1, 9, 9, 9, 9},
		nil,
	}
	rec := edgeTable(t, []Hash{a, b, c}, edges)
	defer rec.Release()
	got, err := TableGroups([]arrow.RecordBatch{rec}, DefaultDistance)
	if err != nil {
		t.Fatal(err)
	}
	if want := []int{0, 0, -1}; !slices.Equal(got, want) {
		t.Errorf("groups %v, want %v", got, want)
	}

	short := edgeTable(t, []Hash{a, b}, [][]uint64{{1, 2}, nil})
	defer short.Release()
	if _, err := TableGroups([]arrow.RecordBatch{short}, DefaultDistance); err == nil || !strings.Contains(err.Error(), "holds 2 hashes, want 8") {
		t.Errorf("a list of 2 edges: err = %v, want a complaint naming the length", err)
	}
}
