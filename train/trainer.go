package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/checkpoint"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/metrics"
	"github.com/boostershot/facet/internal/model"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/outfile"
	"github.com/boostershot/facet/internal/pred"
	"github.com/boostershot/facet/internal/prefetch"
	"github.com/boostershot/facet/internal/work"
)

// epochMetrics is one line of metrics.jsonl. Epochs count from 0. Head
// scores leave out rows whose part is unknown; the 18-class scores use
// the rows with all three parts. Score is what early stopping watches:
// val_f1_18, or the mean macro F1 of the heads with labelled rows when
// no row has all three parts.
type epochMetrics struct {
	Epoch           int     `json:"epoch"`
	LR              float64 `json:"lr"`
	TrainLoss       float64 `json:"train_loss"`
	TrainLossMask   float64 `json:"train_loss_mask"`
	TrainLossGender float64 `json:"train_loss_gender"`
	TrainLossAge    float64 `json:"train_loss_age"`
	ValLoss         float64 `json:"val_loss"`
	ValAccMask      float64 `json:"val_acc_mask"`
	ValF1Mask       float64 `json:"val_f1_mask"`
	ValNMask        int     `json:"val_n_mask"`
	ValAccGender    float64 `json:"val_acc_gender"`
	ValF1Gender     float64 `json:"val_f1_gender"`
	ValNGender      int     `json:"val_n_gender"`
	ValAccAge       float64 `json:"val_acc_age"`
	ValF1Age        float64 `json:"val_f1_age"`
	ValNAge         int     `json:"val_n_age"`
	ValAcc18        float64 `json:"val_acc_18"`
	ValF118         float64 `json:"val_f1_18"`
	ValN18          int     `json:"val_n_18"`
	Score           float64 `json:"score"`
	Best            bool    `json:"best"`
	Seconds         float64 `json:"seconds"`
	ImagesPerSec    float64 `json:"images_per_s"`
}

type trainer struct {
	rc      runConfig
	dir     string
	tr, va  *dataset
	pipe    augment.Pipeline
	workers int
	stderr  io.Writer
	m       *nn.Model
	// start, for a new run, makes RUNDIR the run's (startRun; removeBest
	// also removes the earlier run's model) when its first model is
	// written; nil once done and when resuming.
	start func(removeBest bool) error
}

func (t *trainer) path(name string) string { return filepath.Join(t.dir, name) }

func (t *trainer) logf(format string, args ...any) {
	cli.Printf(t.stderr, program, format, args...)
}

func (t *trainer) run(ctx context.Context, resume bool) error {
	m, err := nn.New(t.rc.Model)
	if err != nil {
		return err
	}
	t.m = m
	start, best, sinceBest := 0, -1.0, 0
	if resume {
		if start, best, sinceBest, err = t.restore(); err != nil {
			return err
		}
		t.logf("resuming at epoch %d of %d (best score %.4f)", start+1, t.rc.Epochs, best)
	}
	size := t.rc.Model.InputSize
	for _, d := range []*dataset{t.tr, t.va} {
		update, finish := cli.Progress(t.stderr, "loading "+filepath.Base(d.path))
		begin := time.Now()
		err := d.load(ctx, size, t.workers, update)
		finish()
		if err != nil {
			return err
		}
		t.logf("%s: %d images decoded and resized to %dx%d in %.1fs", d.path, d.Len(), size, size, time.Since(begin).Seconds())
	}
	for epoch := start; epoch < t.rc.Epochs; epoch++ {
		if t.rc.Patience > 0 && sinceBest >= t.rc.Patience {
			t.logf("early stop: no better validation score for %d epochs", sinceBest)
			break
		}
		em, err := t.epoch(ctx, epoch)
		if err != nil {
			return err
		}
		if t.start != nil {
			// Without a better score (a NaN) no model replaces the
			// earlier run's: startRun removes it too.
			if err := t.start(!(em.Score > best)); err != nil {
				return err
			}
			t.start = nil
		}
		if em.Score > best {
			best, sinceBest, em.Best = em.Score, 0, true
			meta := map[string]string{"epoch": strconv.Itoa(epoch), "score": strconv.FormatFloat(em.Score, 'g', -1, 64)}
			if err := checkpoint.Save(t.path("best.safetensors"), t.rc.Model, m.Tensors(false), meta); err != nil {
				return err
			}
		} else {
			sinceBest++
		}
		meta := map[string]string{"epoch": strconv.Itoa(epoch), "steps": strconv.Itoa(m.Steps())}
		if err := checkpoint.Save(t.path("last.safetensors"), t.rc.Model, m.Tensors(true), meta); err != nil {
			return err
		}
		if err := appendMetrics(t.path("metrics.jsonl"), em); err != nil {
			return err
		}
		mark := ""
		if em.Best {
			mark = " *"
		}
		t.logf("epoch %d/%d lr %.2e loss %.4f | val loss %.4f acc18 %.3f f1_18 %.3f | mask %.3f/%.3f gender %.3f/%.3f age %.3f/%.3f (acc/f1) | %.0f img/s %.1fs%s",
			epoch+1, t.rc.Epochs, em.LR, em.TrainLoss, em.ValLoss, em.ValAcc18, em.ValF118,
			em.ValAccMask, em.ValF1Mask, em.ValAccGender, em.ValF1Gender, em.ValAccAge, em.ValF1Age,
			em.ImagesPerSec, em.Seconds, mark)
	}
	if best < 0 {
		return errors.New("no epoch finished")
	}
	if err := t.writeOOF(); err != nil {
		return err
	}
	lines, err := readMetrics(t.path("metrics.jsonl"))
	if err != nil {
		return err
	}
	return writeLearningCurve(t.path("learning.png"), lines)
}

// restore loads last.safetensors and the metrics of the epochs it
// covers; metrics lines of later epochs (written before a crash that
// lost their checkpoint) are dropped.
func (t *trainer) restore() (start int, best float64, sinceBest int, err error) {
	meta, err := checkpoint.Read(t.path("last.safetensors"), t.m.Tensors(true))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("--resume: %w", err)
	}
	last, err1 := strconv.Atoi(meta["epoch"])
	steps, err2 := strconv.Atoi(meta["steps"])
	if err1 != nil || err2 != nil {
		return 0, 0, 0, errors.New("--resume: last.safetensors lacks epoch and steps metadata")
	}
	t.m.SetSteps(steps)
	lines, err := readMetrics(t.path("metrics.jsonl"))
	if err != nil {
		return 0, 0, 0, fmt.Errorf("--resume: %w", err)
	}
	var kept bytes.Buffer
	best = -1
	for _, em := range lines {
		if em.Epoch > last {
			break
		}
		if em.Score > best {
			best, sinceBest = em.Score, 0
		} else {
			sinceBest++
		}
		b, _ := json.Marshal(em)
		kept.Write(append(b, '\n'))
	}
	if len(lines) == 0 || lines[0].Epoch != 0 || best < 0 {
		return 0, 0, 0, errors.New("--resume: metrics.jsonl does not cover the checkpoint's epochs")
	}
	if err := outfile.WriteFile(t.path("metrics.jsonl"), kept.Bytes()); err != nil {
		return 0, 0, 0, err
	}
	return last + 1, best, sinceBest, nil
}

func readMetrics(path string) ([]epochMetrics, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []epochMetrics
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var em epochMetrics
		if err := json.Unmarshal(sc.Bytes(), &em); err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, len(out)+1, err)
		}
		out = append(out, em)
	}
	return out, sc.Err()
}

// appendMetrics adds a line to the metrics file, rewriting it whole
// (internal/outfile): a reader never sees half a line.
func appendMetrics(path string, em epochMetrics) error {
	b, err := json.Marshal(em)
	if err != nil {
		return err
	}
	old, err := os.ReadFile(path)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	return outfile.WriteFile(path, append(append(old, b...), '\n'))
}

// epoch trains one epoch and scores the model on the validation set.
func (t *trainer) epoch(ctx context.Context, epoch int) (epochMetrics, error) {
	m, B, n := t.m, t.rc.Batch, t.tr.Len()
	m.SetEpoch(epoch)
	em := epochMetrics{Epoch: epoch, LR: m.LR()}
	perm := rand.New(rand.NewPCG(t.rc.Seed, 0x7368756666<<8|uint64(epoch))).Perm(n)
	batches := (n + B - 1) / B
	update, finish := cli.Progress(t.stderr, fmt.Sprintf("epoch %d/%d", epoch+1, t.rc.Epochs))
	begin := time.Now()
	done := 0
	// The next batches are made while the model trains on the current one.
	err := prefetch.Run(ctx, 2, func(ctx context.Context, send func(nn.Batch) error) error {
		for b := range batches {
			rows := make([]int, B)
			for j := range rows {
				rows[j] = perm[(b*B+j)%n] // the last batch wraps to the start
			}
			batch, err := t.makeBatch(ctx, epoch, rows)
			if err != nil {
				return err
			}
			if err := send(batch); err != nil {
				return err
			}
		}
		return nil
	}, func(batch nn.Batch) error {
		l, err := m.Step(batch)
		if err != nil {
			return err
		}
		if t.rc.Model.Heads == nn.HeadsSingle18 {
			em.TrainLoss += l.Class18
		} else {
			em.TrainLoss += l.Total
		}
		em.TrainLossMask += l.Mask
		em.TrainLossGender += l.Gender
		em.TrainLossAge += l.Age
		done++
		update(done*B, batches*B)
		return nil
	}, nil)
	finish()
	if err == nil {
		err = ctx.Err()
	}
	if err != nil {
		return em, err
	}
	em.Seconds = time.Since(begin).Seconds()
	em.ImagesPerSec = float64(batches*B) / em.Seconds
	k := float64(batches)
	em.TrainLoss /= k
	em.TrainLossMask /= k
	em.TrainLossGender /= k
	em.TrainLossAge /= k
	p, err := predict(ctx, model.Facet(m), t.va, t.workers)
	if err != nil {
		return em, err
	}
	validation(&em, t.va, p, t.rc.Model.Heads)
	return em, nil
}

// makeBatch augments the images of rows (seeded by the run's seed, the
// epoch and the row) and stacks them into a batch with their labels.
func (t *trainer) makeBatch(ctx context.Context, epoch int, rows []int) (nn.Batch, error) {
	s := t.rc.Model.InputSize
	per := 3 * s * s
	b := nn.Batch{N: len(rows), Images: make([]float32, len(rows)*per),
		Mask: make([]int8, len(rows)), Gender: make([]int8, len(rows)), Age: make([]int8, len(rows))}
	errs := make([]error, len(rows))
	err := work.Each(ctx, len(rows), t.workers, func(_, j int) {
		r := rows[j]
		img := t.tr.pix[r]
		if len(t.pipe) > 0 {
			rng := rand.New(rand.NewPCG(t.rc.Seed^0x9e3779b97f4a7c15, uint64(epoch)<<32|uint64(r)))
			img, _ = t.pipe.Apply(img.Clone(), rng)
		}
		if img.W != s || img.H != s {
			errs[j] = fmt.Errorf("augmentation changed the image size to %dx%d", img.W, img.H)
			return
		}
		errs[j] = augment.Tensor(img, b.Images[j*per:(j+1)*per], augment.MeanRGB, augment.StdRGB)
	}, nil)
	if err != nil {
		return b, err
	}
	for j, r := range rows {
		if errs[j] != nil {
			return b, errs[j]
		}
		b.Mask[j], b.Gender[j], b.Age[j] = t.tr.mask[r], t.tr.gender[r], t.tr.age[r]
	}
	return b, nil
}

// predict runs the model on every image of d (loaded at the model's input
// size), without augmentation, in chunks so the input tensor stays small.
func predict(ctx context.Context, m model.Model, d *dataset, workers int) (*pred.Probs, error) {
	in := m.Input()
	per := in.Len()
	const chunk = 256
	all := &pred.Probs{}
	for lo := 0; lo < d.Len(); lo += chunk {
		hi := min(lo+chunk, d.Len())
		images := make([]float32, (hi-lo)*per)
		errs := make([]error, hi-lo)
		if err := work.Each(ctx, hi-lo, workers, func(_, j int) {
			errs[j] = in.Tensor(d.pix[lo+j], images[j*per:(j+1)*per])
		}, nil); err != nil {
			return nil, err
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		p, err := m.Predict(images)
		if err != nil {
			return nil, err
		}
		all.Append(p)
	}
	return all, nil
}

// validation fills em's validation fields from the predictions p of d.
func validation(em *epochMetrics, d *dataset, p *pred.Probs, heads string) {
	mk := metrics.Of(d.mask, pred.ArgmaxRows(p.Mask, nn.NumMask), nn.NumMask)
	g := metrics.Of(d.gender, pred.ArgmaxRows(p.Gender, nn.NumGender), nn.NumGender)
	a := metrics.Of(d.age, pred.ArgmaxRows(p.Age, nn.NumAge), nn.NumAge)
	l18 := make([]int8, d.Len())
	for i := range l18 {
		l18[i] = label.Join(d.mask[i], d.gender[i], d.age[i])
	}
	c := metrics.Of(l18, p.Pred18, label.NumClasses)
	em.ValAccMask, em.ValF1Mask, em.ValNMask = mk.Acc, mk.F1, mk.N
	em.ValAccGender, em.ValF1Gender, em.ValNGender = g.Acc, g.F1, g.N
	em.ValAccAge, em.ValF1Age, em.ValNAge = a.Acc, a.F1, a.N
	em.ValAcc18, em.ValF118, em.ValN18 = c.Acc, c.F1, c.N
	if em.ValN18 > 0 {
		em.Score = c.F1
	} else {
		sum, heads := 0.0, 0
		for _, h := range []metrics.Score{mk, g, a} {
			if h.N > 0 {
				sum += h.F1
				heads++
			}
		}
		if heads > 0 {
			em.Score = sum / float64(heads)
		}
	}
	if heads == nn.HeadsSingle18 {
		em.ValLoss = metrics.CrossEntropy(l18, p.Class18, label.NumClasses)
		return
	}
	em.ValLoss = metrics.CrossEntropy(d.mask, p.Mask, nn.NumMask) + metrics.CrossEntropy(d.gender, p.Gender, nn.NumGender) +
		metrics.CrossEntropy(d.age, p.Age, nn.NumAge)
}
