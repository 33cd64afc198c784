package dup

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/corona10/goimagehash"
	"golang.org/x/image/draw"

	"github.com/boostershot/facet/internal/testdata"
)

// utkFaces reads the real UTKFace Asian faces (every one in -short mode
// too: they are small), or skips.
func utkFaces(tb testing.TB) (dir string, names []string) {
	tb.Helper()
	dir = filepath.Join(testdata.Dir(tb), "faces", "utkface")
	ents, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	for _, e := range ents {
		if strings.HasSuffix(e.Name(), ".jpg") {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	return dir, names
}

// knownGroups reads faces/utkface_duplicates.tsv: file -> group, and the
// groups' kinds.
func knownGroups(tb testing.TB) (groupOf map[string]string, kind map[string]string) {
	tb.Helper()
	f, err := os.Open(filepath.Join(testdata.Dir(tb), "faces", "utkface_duplicates.tsv"))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.Comma = '\t'
	rows, err := r.ReadAll()
	if err != nil {
		tb.Fatal(err)
	}
	if strings.Join(rows[0], ",") != "group,file,age,gender,kind" {
		tb.Fatalf("utkface_duplicates.tsv: header %v", rows[0])
	}
	groupOf, kind = map[string]string{}, map[string]string{}
	for _, row := range rows[1:] {
		groupOf[row[1]] = row[0]
		kind[row[0]] = row[4]
	}
	return groupOf, kind
}

// hasher is one of the hashes compared: a hash and, for facet's default,
// its Edges (zero for the others), compared by Dist.
type hasher struct {
	name string
	hash func(image.Image) (Hash, Edges)
}

var hashers = []hasher{
	{"facet pHash with edges (area 32x32, DCT 8x8; what facet-crop writes)", FromImageEdges},
	{"facet pHash alone", func(img image.Image) (Hash, Edges) { return FromImage(img), Edges{} }},
	{"goimagehash PerceptionHash", func(img image.Image) (Hash, Edges) {
		h, err := goimagehash.PerceptionHash(img)
		if err != nil {
			panic(err)
		}
		return Hash(h.GetHash()), Edges{}
	}},
	{"goimagehash DifferenceHash", func(img image.Image) (Hash, Edges) {
		h, err := goimagehash.DifferenceHash(img)
		if err != nil {
			panic(err)
		}
		return Hash(h.GetHash()), Edges{}
	}},
}

// print is one image's hash and edges by one hasher.
type print struct {
	h Hash
	e Edges
}

func (a *print) dist(b *print) int { return Dist(a.h, &a.e, b.h, &b.e) }

// plant makes the copy of family f of img: re-encoded (JPEG quality
// 50-90), resized (0.5x-1.5x), cropped (2-5% off one edge) or brightened
// (+-15%), each saved as a JPEG (quality 90 unless re-encoded).
func plant(img image.Image, f int, rng *rand.Rand) (image.Image, string) {
	b := img.Bounds()
	q, what := 90, ""
	var out image.Image
	switch f {
	case 0:
		q = 50 + rng.IntN(41)
		out, what = img, fmt.Sprintf("jpeg q%d", q)
	case 1:
		s := 0.5 + rng.Float64()
		w, h := int(float64(b.Dx())*s+0.5), int(float64(b.Dy())*s+0.5)
		dst := image.NewRGBA(image.Rect(0, 0, w, h))
		draw.BiLinear.Scale(dst, dst.Bounds(), img, b, draw.Src, nil)
		out, what = dst, fmt.Sprintf("resize %.2fx", s)
	case 2:
		frac := 0.02 + 0.03*rng.Float64()
		cut := int(frac*float64(b.Dx()) + 0.5)
		r := b
		switch edge := rng.IntN(4); edge {
		case 0:
			r.Min.X += cut
		case 1:
			r.Max.X -= cut
		case 2:
			r.Min.Y += cut
		case 3:
			r.Max.Y -= cut
		}
		dst := image.NewRGBA(image.Rect(0, 0, r.Dx(), r.Dy()))
		draw.Draw(dst, dst.Bounds(), img, r.Min, draw.Src)
		out, what = dst, fmt.Sprintf("crop %.0f%%", frac*100)
	case 3:
		k := 0.85 + 0.3*rng.Float64()
		dst := image.NewRGBA(b)
		for y := b.Min.Y; y < b.Max.Y; y++ {
			for x := b.Min.X; x < b.Max.X; x++ {
				r, g, bl, _ := img.At(x, y).RGBA()
				sc := func(v uint32) uint8 { return uint8(min(255, float64(v>>8)*k+0.5)) }
				dst.Set(x, y, color.RGBA{sc(r), sc(g), sc(bl), 255})
			}
		}
		out, what = dst, fmt.Sprintf("brightness %+.0f%%", (k-1)*100)
	}
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, out, &jpeg.Options{Quality: q}); err != nil {
		panic(err)
	}
	dec, err := jpeg.Decode(&buf)
	if err != nil {
		panic(err)
	}
	return dec, what
}

var families = []string{"re-encoded", "resized", "cropped", "brightened"}

// TestPlantedDuplicates measures the duplicate finder: every real UTKFace
// face gets one copy of each kind (re-encoded, resized, cropped,
// brightened; random strength, fixed seed); a planted pair within the
// threshold is found (recall), a pair of two different originals within
// it is a false link (the pairs of utkface_duplicates.tsv are left out:
// they are real duplicates). Precision = found / (found + false links).
// It prints the table by threshold for each hash and checks facet's at
// DefaultDistance.
//
//	FACET_DUP_FULL=1 go test ./internal/dup -run PlantedDuplicates -v
func TestPlantedDuplicates(t *testing.T) {
	dir, names := utkFaces(t)
	groupOf, _ := knownGroups(t)
	// Every 4th face unless FACET_DUP_FULL is set (all 2,417: 80 s).
	step := 4
	if os.Getenv("FACET_DUP_FULL") != "" {
		step = 1
	}
	var orig []string
	for i := 0; i < len(names); i += step {
		orig = append(orig, names[i])
	}
	type copyHash struct {
		orig, family int
		h            []print
	}
	origH := make([][]print, len(orig))
	copies := make([][]copyHash, len(orig))
	var wg sync.WaitGroup
	jobs := make(chan int)
	for range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				img := decodeFile(t, filepath.Join(dir, orig[i]))
				for _, hs := range hashers {
					h, e := hs.hash(img)
					origH[i] = append(origH[i], print{h, e})
				}
				rng := rand.New(rand.NewPCG(uint64(i), 13))
				for f := range families {
					c, _ := plant(img, f, rng)
					ch := copyHash{orig: i, family: f}
					for _, hs := range hashers {
						h, e := hs.hash(c)
						ch.h = append(ch.h, print{h, e})
					}
					copies[i] = append(copies[i], ch)
				}
			}
		}()
	}
	for i := range orig {
		jobs <- i
	}
	close(jobs)
	wg.Wait()

	const maxT = 24
	for k, hs := range hashers {
		// pos[f][d]: planted pairs of family f at distance d.
		pos := make([][maxT + 2]int, len(families))
		for _, cs := range copies {
			for _, c := range cs {
				pos[c.family][min(maxT+1, origH[c.orig][k].dist(&c.h[k]))]++
			}
		}
		var neg [65]int
		for i := range orig {
			for j := i + 1; j < len(orig); j++ {
				if g := groupOf[orig[i]]; g != "" && g == groupOf[orig[j]] {
					continue
				}
				neg[origH[i][k].dist(&origH[j][k])]++
			}
		}
		var sb strings.Builder
		fmt.Fprintf(&sb, "%s: %d originals, %d planted pairs, %d distinct pairs\n", hs.name, len(orig), len(orig)*len(families), len(orig)*(len(orig)-1)/2)
		fmt.Fprintf(&sb, "  dist  recall  %s  false-links  precision\n", strings.Join(families, " "))
		tp, fp, total := 0, 0, len(orig)*len(families)
		famTP := make([]int, len(families))
		var recallAt, precAt float64
		for d := 0; d <= maxT; d++ {
			for f := range families {
				tp += pos[f][d]
				famTP[f] += pos[f][d]
			}
			fp += neg[d]
			prec := float64(tp) / float64(max(1, tp+fp))
			rec := float64(tp) / float64(total)
			fmt.Fprintf(&sb, "  %4d  %.4f ", d, rec)
			for f := range families {
				fmt.Fprintf(&sb, " %.3f", float64(famTP[f])/float64(len(orig)))
			}
			fmt.Fprintf(&sb, "  %6d  %.4f\n", fp, prec)
			if d == DefaultDistance {
				recallAt, precAt = rec, prec
			}
		}
		t.Log(sb.String())
		// The target is recall >= 0.95 at precision >= 0.99. The
		// hash alone misses the slightly cropped copies (0.943 at distance
		// 8, all 2,417 faces); with its edges it finds 0.999 of all four
		// kinds at DefaultDistance with 6 false links in 2.9 million pairs
		// (all faces), none on every 4th face.
		if k == 0 && (recallAt < 0.95 || precAt < 0.99) {
			t.Errorf("%s at distance %d: recall %.4f, precision %.4f; want >= 0.95 and >= 0.99", hs.name, DefaultDistance, recallAt, precAt)
		}
	}
}

func decodeFile(tb testing.TB, path string) image.Image {
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	img, err := jpeg.Decode(io.Reader(f))
	if err != nil {
		tb.Fatalf("%s: %v", path, err)
	}
	return img
}
