package cmdtest

import (
	"encoding/csv"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/boostershot/facet/internal/cvimage"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/table"
)

// torchPython is a Python that has PyTorch and torchvision ($FACET_PYTHON,
// else Debian's /usr/bin/python3, else python3 on PATH), or skips the test.
func torchPython(t *testing.T) string {
	t.Helper()
	candidates := []string{"/usr/bin/python3", "python3"}
	if p := os.Getenv("FACET_PYTHON"); p != "" {
		candidates = []string{p}
	}
	for _, p := range candidates {
		if exec.Command(p, "-c", "import torch, torchvision, PIL").Run() == nil {
			return p
		}
	}
	t.Skipf("no Python with torch, torchvision and PIL among %v (make test-deps installs Debian's): skipping", candidates)
	return ""
}

// faceImages writes n images of size x size as PNG files under dir (PNG,
// so PIL and OpenCV read the same pixels) and a facet-prep CSV of them:
// real faces of the shared data when it is there (UTKFace Asian faces with
// gender and age, mask crops with their mask label), else drawn faces.
func faceImages(t *testing.T, dir string, n, size int) string {
	t.Helper()
	type face struct {
		src                 string
		mask, gender, age   int
		red, green, blue, k int
	}
	var faces []face
	data := os.Getenv("FACET_TESTDATA")
	if data == "" {
		data = filepath.Join("..", "..", "shared", "data")
	}
	utk, _ := filepath.Glob(filepath.Join(data, "faces", "utkface", "*.jpg"))
	var masks []string
	for _, class := range []string{"wear", "incorrect", "none"} {
		m, _ := filepath.Glob(filepath.Join(data, "masks", class, "*.jpg"))
		masks = append(masks, m[:min(len(m), n/6)]...)
	}
	if len(utk) >= n && len(masks) > 0 {
		t.Logf("real faces from %s", data)
		for _, f := range utk[:n-len(masks)] {
			parts := strings.Split(filepath.Base(f), "_")
			age, _ := strconv.Atoi(parts[0])
			gender, _ := strconv.Atoi(parts[1])
			faces = append(faces, face{src: f, mask: 2, gender: gender, age: age})
		}
		for _, f := range masks {
			mask := map[string]int{"wear": 0, "incorrect": 1, "none": 2}[filepath.Base(filepath.Dir(f))]
			faces = append(faces, face{src: f, mask: mask, gender: -1, age: -1})
		}
	} else {
		t.Logf("no real faces at %s: drawn faces instead", data)
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range n {
			faces = append(faces, face{mask: i % 3, gender: i / 3 % 2, age: 10 + 25*(i/6%3),
				red: rng.IntN(256), green: rng.IntN(256), blue: rng.IntN(256), k: i})
		}
	}
	var rows [][]string
	rows = append(rows, []string{"path", "id", "person", "mask", "gender", "age"})
	for i, f := range faces {
		img := image.NewRGBA(image.Rect(0, 0, size, size))
		if f.src != "" {
			m, err := cvimage.Load(f.src, size)
			if err != nil {
				t.Fatal(err)
			}
			for p := range size * size {
				img.Set(p%size, p/size, color.RGBA{m.Pix[3*p], m.Pix[3*p+1], m.Pix[3*p+2], 255})
			}
		} else {
			for p := range size * size {
				x, y := p%size, p/size
				v := uint8((x*f.k + y*(f.k%5)) % 64)
				img.Set(x, y, color.RGBA{uint8(f.red) ^ v, uint8(f.green), uint8(f.blue) ^ uint8(y), 255})
			}
		}
		name := fmt.Sprintf("face%03d.png", i)
		out, err := os.Create(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(out, img); err != nil {
			t.Fatal(err)
		}
		out.Close()
		rows = append(rows, []string{name, fmt.Sprintf("face%03d", i), fmt.Sprintf("p%03d", i),
			strconv.Itoa(f.mask), strconv.Itoa(f.gender), strconv.Itoa(f.age)})
	}
	path := filepath.Join(dir, "faces.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := csv.NewWriter(f)
	w.WriteAll(rows)
	if err := w.Error(); err != nil {
		t.Fatal(err)
	}
	return path
}

// readPreds reads a prediction table (facet-infer's or facet-merge's
// output) into probabilities by row id.
func readPreds(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := table.NewReader(f, table.ColID)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Release()
	out := map[string][]float32{}
	for r.Next() {
		rec := r.RecordBatch()
		p, err := pred.Read(rec)
		if err != nil {
			t.Fatal(err)
		}
		for i, s := range table.Samples(rec) {
			m, g, a, _ := p.Row(i)
			out[s.ID] = slices.Concat(m, g, a)
		}
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// readValProbs reads the plugin's val_probs.csv (id, mask0..age2).
func readValProbs(t *testing.T, path string) map[string][]float32 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]float32{}
	for _, row := range rows[1:] {
		for _, v := range row[1:] {
			x, err := strconv.ParseFloat(v, 32)
			if err != nil {
				t.Fatal(err)
			}
			out[row[0]] = append(out[row[0]], float32(x))
		}
	}
	return out
}

// TestTorchPluginONNX trains a small torchvision network for one epoch on
// the CPU with plugins/torch_train.py through facet-train's exec backend
// (protocol 2: the plugin hands back best.onnx), then checks that
// facet-infer's predictions, run by OpenCV's DNN module, equal PyTorch's
// own on the same rows, that pseudo labels and the vote read them, and
// that damaged models give one error line and no output.
func TestTorchPluginONNX(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a network")
	}
	py := torchPython(t)
	plugin, err := filepath.Abs(filepath.Join("..", "plugins", "torch_train.py"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	const size = 64
	faces := faceImages(t, dir, 48, size)
	_, stderr, code := sh(t, dir, "facet-prep -q csv:"+faces+" | facet-split --val-share 0.25 --stratify mask --out folds -o all.arrow", nil)
	if code != 0 {
		t.Fatalf("prep | split: exit %d\n%s", code, stderr)
	}
	// facet's own network comes back as safetensors (protocol 1's form),
	// a torchvision one as ONNX; facet-infer must predict as PyTorch did.
	for _, c := range []struct{ model, file string }{{"facet", "best.safetensors"}, {"resnet18", "best.onnx"}} {
		run := "run-" + c.model
		// One thread: go test runs other packages beside this one, and
		// OpenMP threads that wait for a busy core slow PyTorch tenfold.
		_, stderr, code = sh(t, dir, fmt.Sprintf("OMP_NUM_THREADS=1 facet-train --out %s --folds folds --fold 0 --epochs 1 --batch 8 --seed 3 "+
			"--backend exec -- %s %s --model %s --size %d --device cpu", run, py, plugin, c.model, size), nil)
		t.Log(stderr)
		if code != 0 {
			t.Fatalf("facet-train with the torch plugin --model %s: exit %d", c.model, code)
		}
		for _, name := range []string{c.file, "best.json", "metrics.jsonl", "oof.arrow", "val_probs.csv"} {
			if _, err := os.Stat(filepath.Join(dir, run, name)); err != nil {
				t.Error(err)
			}
		}
		_, stderr, code = sh(t, dir, "facet-infer --model "+run+" folds/fold0.val.arrow -o "+run+".pred.arrow", nil)
		if code != 0 {
			t.Fatalf("facet-infer: exit %d\n%s", code, stderr)
		}
		got, want := readPreds(t, filepath.Join(dir, run+".pred.arrow")), readValProbs(t, filepath.Join(dir, run, "val_probs.csv"))
		if len(got) == 0 || len(got) != len(want) {
			t.Fatalf("%s: facet-infer predicted %d rows, PyTorch %d", c.model, len(got), len(want))
		}
		var diff float64
		for id, w := range want {
			g, ok := got[id]
			if !ok || len(g) != len(w) {
				t.Fatalf("%s: row %s: facet %v, PyTorch %v", c.model, id, g, w)
			}
			for k := range w {
				diff = max(diff, math.Abs(float64(g[k]-w[k])))
			}
		}
		t.Logf("%s: largest probability difference facet-infer - PyTorch over %d rows: %.2g", c.model, len(want), diff)
		if diff >= 1e-4 {
			t.Errorf("%s: facet-infer's probabilities differ from PyTorch's by %.2g (want < 1e-4)", c.model, diff)
		}
		// facet-train's own out-of-fold step agrees with facet-infer.
		oof := readPreds(t, filepath.Join(dir, run, "oof.arrow"))
		for id, g := range got {
			if !slices.Equal(oof[id], g) {
				t.Fatalf("%s: row %s: oof.arrow %v, facet-infer %v", c.model, id, oof[id], g)
			}
		}
	}
	if err := os.Rename(filepath.Join(dir, "run-resnet18"), filepath.Join(dir, "run")); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(dir, "run-resnet18.pred.arrow"), filepath.Join(dir, "val.pred.arrow")); err != nil {
		t.Fatal(err)
	}
	want := readValProbs(t, filepath.Join(dir, "run", "val_probs.csv"))

	// Pseudo labels and the vote read the ONNX model's predictions.
	_, stderr, code = sh(t, dir, "facet-infer --model run/best.onnx --tta flip --pseudo 0.01 --pseudo-out pseudo.arrow folds/fold0.val.arrow -o flip.arrow"+
		" && facet-merge vote --soft --pseudo 0.01 --pseudo-out vote.pseudo.arrow val.pred.arrow flip.arrow -o vote.arrow", nil)
	if code != 0 {
		t.Fatalf("pseudo labels and vote: exit %d\n%s", code, stderr)
	}
	for _, name := range []string{"pseudo.arrow", "vote.pseudo.arrow"} {
		out, stderr, code := sh(t, dir, "facet-merge join --csv "+name, nil)
		if n := strings.Count(string(out), "\n") - 1; code != 0 || n != len(want) {
			t.Errorf("%s: %d rows (exit %d, %s), want %d: every row reaches confidence 0.01", name, n, code, stderr, len(want))
		}
	}

	// Damaged models: one error line, exit 1, no output file.
	onnxBytes, err := os.ReadFile(filepath.Join(dir, "run", "best.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	config, err := os.ReadFile(filepath.Join(dir, "run", "best.json"))
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, model, config, want string
	}{
		{"truncated onnx", string(onnxBytes[:len(onnxBytes)/3]), string(config), "onnx"},
		{"wrong output name", string(onnxBytes), strings.Replace(string(config), `"mask": "mask"`, `"mask": "logits"`, 1), "logits"},
		{"wrong class count", string(onnxBytes), strings.Replace(string(config), `"mask": "mask"`, `"mask": "gender"`, 1), "want 3"},
		{"heads do not match", string(onnxBytes), strings.Replace(string(config), `"heads": "three"`, `"heads": "single18"`, 1), "class18"},
		{"unknown format", string(onnxBytes), strings.Replace(string(config), `facet-onnx/1`, `facet-onnx/9`, 1), "facet-onnx/9"},
		{"no config", string(onnxBytes), "", "best.json"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			bad := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "-"))
			os.MkdirAll(bad, 0o755)
			os.WriteFile(filepath.Join(bad, "best.onnx"), []byte(c.model), 0o644)
			if c.config != "" {
				os.WriteFile(filepath.Join(bad, "best.json"), []byte(c.config), 0o644)
			}
			out := filepath.Join(bad, "pred.arrow")
			_, stderr, code := sh(t, dir, "facet-infer --model "+bad+" folds/fold0.val.arrow -o "+out, nil)
			checkFailure(t, c.name, "facet-infer", code, 1, stderr, out)
			if !strings.Contains(stderr, c.want) {
				t.Errorf("%s: error does not say %q:\n%s", c.name, c.want, stderr)
			}
		})
	}
}
