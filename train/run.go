package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/fold"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/numrange"
	"github.com/boostershot/facet/internal/outfile"
)

// runConfig is config.json: everything a run needs to be repeated or
// resumed.
type runConfig struct {
	Train        string    `json:"train"`
	Val          string    `json:"val"`
	Fold         int       `json:"fold"` // -1 without --folds
	Epochs       int       `json:"epochs"`
	Batch        int       `json:"batch"`
	Patience     int       `json:"patience"`
	Ops          string    `json:"ops"`
	Seed         uint64    `json:"seed"`
	ClassWeights string    `json:"class_weights"`
	Backend      string    `json:"backend"`
	Command      []string  `json:"command,omitempty"`
	Protocol     int       `json:"protocol,omitempty"` // the exec protocol version in the job
	TrainRows    int       `json:"train_rows"`
	ValRows      int       `json:"val_rows"`
	Model        nn.Config `json:"model"`
}

// The defaults of the training settings: those measured best for
// training facet's network from scratch on the real faces (README,
// "Choosing the defaults"). --preset seed gives the competition team's.
const (
	defaultEpochs       = 40
	defaultPatience     = 0
	defaultClassWeights = "auto"
)

// Bounds of the run's counts (the flags and a resumed config.json):
// epochs, warm-up and patience, and the folds facet-split makes.
const (
	maxEpochs = 10000
	maxFolds  = 100
)

type options struct {
	out, folds, train, val, ops, classWeights, heads, loss, backend string
	fold, epochs, batch, size, width, patience, workers, protocol   int
	lr, lrDecay, ageSmoothing, labelSmoothing, weightDecay          float64
	schedule, preset                                                string
	warmup                                                          int
	seed                                                            uint64
	resume, allFolds                                                bool
}

func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	def := nn.DefaultConfig()
	var o options
	fs := cli.NewFlags("facet-train", doc, stdout, stderr)
	cli.DirVar(fs, &o.out, "out", "", "run folder `RUNDIR` (required)")
	fs.StringVar(&o.folds, "folds", "", "fold files from facet-split in `DIR`")
	cli.IntVar(fs, &o.fold, "fold", -1, 0, maxFolds-1, "fold `K` of --folds")
	fs.BoolVar(&o.allFolds, "all-folds", false, "train every fold of --folds in turn (RUNDIR/foldK) and join their out-of-fold predictions")
	fs.StringVar(&o.train, "train", "", "training table `T.arrow`")
	fs.StringVar(&o.val, "val", "", "validation table `V.arrow`")
	cli.IntVar(fs, &o.epochs, "epochs", defaultEpochs, 1, maxEpochs, "epochs")
	cli.IntVar(fs, &o.batch, "batch", 32, 1, nn.MaxPredictBatch, "batch size (fixed; the last batch of an epoch is filled from its start)")
	cli.IntVar(fs, &o.size, "size", def.InputSize, nn.MinInputSize, nn.MaxInputSize, "input size `S` (images are S x S)")
	cli.IntVar(fs, &o.width, "width", def.Width, 1, nn.MaxWidth, "channels of the first stage")
	fs.StringVar(&o.heads, "head-layout", def.Heads, "head layout: three or single18")
	cli.Renamed(fs, "heads", "head-layout")
	fs.StringVar(&o.preset, "preset", "", "named settings for the flags not given: seed (the competition team's, for fine-tuning a pretrained model)")
	cli.FloatVar(fs, &o.lr, "lr", def.LR, numrange.Range{Min: 0, Max: 10, MinOpen: true}, "Adam learning rate")
	fs.StringVar(&o.schedule, "schedule", def.Schedule, "learning-rate schedule after the warm-up: exp (lr * lr-decay^epoch) or cosine (towards 0 at the last epoch)")
	cli.FloatVar(fs, &o.lrDecay, "lr-decay", def.LRDecay, numrange.Range{Min: 0, Max: 1, MinOpen: true}, "the exp schedule's factor per epoch")
	cli.IntVar(fs, &o.warmup, "warmup", def.Warmup, 0, maxEpochs, "epochs of linear learning-rate warm-up")
	cli.FloatVar(fs, &o.weightDecay, "weight-decay", def.WeightDecay, numrange.Between(0, 1), "L2 weight decay of conv and linear weights")
	fs.StringVar(&o.loss, "loss", def.Loss, "loss: ce or focal")
	cli.FloatVar(fs, &o.ageSmoothing, "age-smoothing", def.AgeSmoothing, numrange.Range{Min: 0, Max: 1, MaxOpen: true}, "label smoothing of the age head towards the neighbouring age class")
	cli.FloatVar(fs, &o.labelSmoothing, "label-smoothing", def.LabelSmoothing, numrange.Range{Min: 0, Max: 1, MaxOpen: true}, "uniform label smoothing of the mask and gender heads")
	fs.StringVar(&o.classWeights, "class-weights", defaultClassWeights, "class weights: '' (none) or auto (inverse training frequency)")
	cli.IntVar(fs, &o.patience, "patience", defaultPatience, 0, maxEpochs, "stop after N epochs without a better validation score (0: never)")
	fs.StringVar(&o.ops, "ops", augment.DefaultSpec, "online augmentation `SPEC` ('' for none)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed (weights, shuffling, augmentation)")
	cli.WorkersVar(fs, &o.workers, "image loading workers")
	fs.BoolVar(&o.resume, "resume", false, "continue the run in RUNDIR from last.safetensors")
	fs.StringVar(&o.backend, "backend", "gorgonia", "trainer: gorgonia, or exec (the command after --)")
	cli.IntVar(fs, &o.protocol, "protocol", ProtocolVersion, 1, ProtocolVersion, "the exec protocol version written in the job (1 for a plugin that refuses version 2)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
	stderr = cli.Stderr(fs, stderr)
	var command []string
	if at := fs.ArgsLenAtDash(); at >= 0 {
		if at > 0 {
			return cli.Usagef("unexpected arguments before --: %s", strings.Join(fs.Args()[:at], " "))
		}
		command = fs.Args()
	} else if fs.NArg() > 0 {
		return cli.Usagef("unexpected arguments: %s", strings.Join(fs.Args(), " "))
	}
	if o.out == "" {
		return cli.Usagef("--out RUNDIR is required")
	}
	if o.allFolds {
		switch {
		case o.folds == "":
			return cli.Usagef("--all-folds needs --folds DIR")
		case fs.Changed("fold"):
			return cli.Usagef("give --fold K or --all-folds, not both")
		case o.resume:
			return cli.Usagef("--resume works on one fold's RUNDIR, not with --all-folds")
		}
		if err := applyPreset(fs, o.preset); err != nil {
			return cli.UsageError{Err: err}
		}
		return o.fitFolds(ctx, command, stderr)
	}
	var rc runConfig
	if o.resume {
		b, err := os.ReadFile(filepath.Join(o.out, "config.json"))
		if err != nil {
			return fmt.Errorf("--resume: %w", err)
		}
		if err := json.Unmarshal(b, &rc); err != nil {
			return fmt.Errorf("--resume: %s: %w", filepath.Join(o.out, "config.json"), err)
		}
		if fs.Changed("epochs") {
			rc.Epochs = o.epochs
		}
		if fs.Changed("patience") {
			rc.Patience = o.patience
		}
		if len(command) > 0 && !slices.Equal(command, rc.Command) {
			return cli.Usagef("--resume runs the backend command of %s (%s), not another", filepath.Join(o.out, "config.json"), strings.Join(rc.Command, " "))
		}
		if fs.Changed("epochs") && rc.Model.Schedule == nn.ScheduleCosine {
			rc.Model.Epochs = rc.Epochs // the cosine stretches to the new end
		}
		if err := rc.validate(); err != nil {
			return fmt.Errorf("--resume: %s: %w", filepath.Join(o.out, "config.json"), err)
		}
	} else {
		if err := applyPreset(fs, o.preset); err != nil {
			return cli.UsageError{Err: err}
		}
		var err error
		if rc, err = o.config(command); err != nil {
			return err
		}
	}
	return o.fit(ctx, rc, stderr)
}

// fit makes the run rc in o.out (a new one, or o.resume's).
func (o *options) fit(ctx context.Context, rc runConfig, stderr io.Writer) error {
	var pipe augment.Pipeline // --ops '': no augmentation
	var err error
	if strings.TrimSpace(rc.Ops) != "" {
		if pipe, err = augment.Parse(rc.Ops); err != nil {
			return cli.UsageError{Err: err}
		}
	}

	tr, _, err := readTable(rc.Train, false)
	if err != nil {
		return err
	}
	defer tr.Release()
	va, made, err := readTable(rc.Val, true)
	if err != nil {
		return err
	}
	defer va.Release()
	if made > 0 {
		cli.Printf(stderr, program, "%s: %d rows made by facet stages (origin not 0: augmented, synthetic masks, pseudo labels) left out of validation", rc.Val, made)
	}
	if !o.resume {
		rc.TrainRows, rc.ValRows = tr.Len(), va.Len()
		if rc.ClassWeights == "auto" {
			setClassWeights(&rc.Model, tr)
		}
		if err := rc.Model.Validate(); err != nil {
			return cli.UsageError{Err: err}
		}
		if err := os.MkdirAll(o.out, 0o755); err != nil {
			return err
		}
	}
	b, _ := json.MarshalIndent(rc, "", "  ")
	if rc.Backend == "exec" {
		// The backend writes its model into RUNDIR itself: the earlier
		// run's outputs, its model too, go before it starts.
		if !o.resume {
			if err := startRun(o.out, append(b, '\n'), true); err != nil {
				return err
			}
		}
		return execTrain(ctx, o.out, rc, tr, va, o.workers, o.resume, stderr)
	}
	t := &trainer{rc: rc, dir: o.out, tr: tr, va: va, pipe: pipe, workers: o.workers, stderr: stderr}
	if !o.resume {
		t.start = func(removeBest bool) error { return startRun(o.out, append(b, '\n'), removeBest) }
	}
	return t.run(ctx, o.resume)
}

// config checks the flags of a new run and turns them into its config.
func (o *options) config(command []string) (runConfig, error) {
	rc := runConfig{Fold: -1, Epochs: o.epochs, Batch: o.batch, Patience: o.patience, Ops: o.ops,
		Seed: o.seed, ClassWeights: o.classWeights, Backend: o.backend, Command: command}
	switch {
	case o.folds != "" && (o.train != "" || o.val != ""):
		return rc, cli.Usagef("give --folds DIR --fold K or --train and --val, not both")
	case o.folds != "":
		if o.fold < 0 {
			return rc, cli.Usagef("--folds needs --fold K")
		}
		rc.Fold = o.fold
		rc.Train, rc.Val = fold.Paths(o.folds, o.fold)
	case o.train == "" || o.val == "":
		return rc, cli.Usagef("give --folds DIR --fold K, or --train T.arrow and --val V.arrow")
	default:
		rc.Train, rc.Val = o.train, o.val
	}
	if o.classWeights != "" && o.classWeights != "auto" {
		return rc, cli.Usagef("--class-weights %q: want auto or ''", o.classWeights)
	}
	switch o.backend {
	case "gorgonia":
		if len(command) > 0 {
			return rc, cli.Usagef("a command after -- needs --backend exec")
		}
	case "exec":
		if len(command) == 0 {
			return rc, cli.Usagef("--backend exec needs the command after --")
		}
		rc.Protocol = o.protocol
	default:
		return rc, cli.Usagef("--backend %q: want gorgonia or exec", o.backend)
	}
	m := nn.DefaultConfig()
	m.InputSize, m.Width, m.Heads, m.Seed = o.size, o.width, o.heads, o.seed
	m.LR, m.WeightDecay, m.Loss = o.lr, o.weightDecay, o.loss
	m.Schedule, m.LRDecay, m.Warmup, m.Epochs = o.schedule, o.lrDecay, o.warmup, o.epochs
	m.AgeSmoothing, m.LabelSmoothing = o.ageSmoothing, o.labelSmoothing
	m.PredictBatch = o.batch
	rc.Model = m
	if err := m.Validate(); err != nil {
		return rc, cli.UsageError{Err: err}
	}
	return rc, nil
}

// validate checks a run config read back from config.json: a file may say
// anything, so its counts get the bounds of the flags that wrote them,
// and its model config nn's own.
func (rc runConfig) validate() error {
	switch {
	case rc.Epochs < 1 || rc.Epochs > maxEpochs:
		return fmt.Errorf("epochs %d: want 1..%d", rc.Epochs, maxEpochs)
	case rc.Batch < 1 || rc.Batch > nn.MaxPredictBatch:
		return fmt.Errorf("batch %d: want 1..%d", rc.Batch, nn.MaxPredictBatch)
	case rc.Patience < 0 || rc.Patience > maxEpochs:
		return fmt.Errorf("patience %d: want 0..%d", rc.Patience, maxEpochs)
	}
	return rc.Model.Validate()
}

// startRun makes dir a new run's: its config.json, and no outputs of an
// earlier run, so a new run never mixes its metrics with old ones. The
// gorgonia back end calls it when its first model is about to be written
// (without best: the best weights and config are replaced right after),
// so a new run stopped before that (Ctrl-C during the first epoch) leaves
// the earlier run's model, config and metrics as they were.
func startRun(dir string, config []byte, best bool) error {
	if err := outfile.WriteFile(filepath.Join(dir, "config.json"), config); err != nil {
		return err
	}
	old := []string{"job.json", "metrics.jsonl", "best.onnx", "last.safetensors", "last.json", "oof.arrow", "val_probs.csv"}
	if best {
		old = append(old, "best.safetensors", "best.json")
	}
	for _, name := range old {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			return err
		}
	}
	return nil
}

// setClassWeights sets inverse-frequency class weights from the training
// labels: w_c = n / (k * count_c) over the rows that know the part, 1 for
// a class with no row.
func setClassWeights(c *nn.Config, d *dataset) {
	weights := func(labels []int8, k int) []float64 {
		count := make([]int, k)
		n := 0
		for _, l := range labels {
			if l >= 0 && int(l) < k {
				count[l]++
				n++
			}
		}
		w := make([]float64, k)
		for i := range w {
			w[i] = 1
			if count[i] > 0 {
				w[i] = float64(n) / float64(k*count[i])
			}
		}
		return w
	}
	if c.Heads == nn.HeadsSingle18 {
		l18 := make([]int8, d.Len())
		for i := range l18 {
			l18[i] = label.Join(d.mask[i], d.gender[i], d.age[i])
		}
		c.ClassWeights18 = weights(l18, label.NumClasses)
		return
	}
	c.MaskWeights = weights(d.mask, nn.NumMask)
	c.GenderWeights = weights(d.gender, nn.NumGender)
	c.AgeWeights = weights(d.age, nn.NumAge)
}
