package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/fold"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/nn"
	"github.com/boostershot/facet/internal/outfile"
)

const synopsis = "facet-train --out RUNDIR (--folds DIR (--fold K | --all-folds) | --train T.arrow --val V.arrow) [--epochs N] [--batch 32] [--resume] [--backend gorgonia | --backend exec -- CMD ARGS...]"

const help = `Trains the mask / gender / age classifier (internal/nn: a compact residual
CNN with three heads, Adam) on a train table and scores it on a validation
table every epoch: per-head accuracy and macro F1 (rows with an unknown
part left out of that head), 18-class macro F1 and accuracy (rows with all
three parts). With --patience N, training stops early when the validation
18-class macro F1 (the mean head macro F1 when no row has all three parts)
has not improved for N epochs.

The defaults are the settings measured best for training this network from
scratch on real faces (README, "Choosing the defaults"). --preset seed
gives the competition team's settings for fine-tuning a pretrained model
instead (Adam 1e-4 decayed by 0.95 an epoch, 20 epochs, early stopping
after 5, no class weights); flags given beside --preset win.

The image of a row is its crop (crop_path) when the table has one, else
the photo (path). Validation data are the original rows of the
validation table: rows a stage made (an origin column other than 0:
facet-augment's copies and synthetic masks, pseudo labels) are left out,
never scored nor in oof.arrow. Images are decoded once, resized to --size, and
augmented online (--ops, seeded per sample and epoch; --ops '' turns it off).

RUNDIR receives:
  config.json                   the run's settings (facet-train's and the model's)
  metrics.jsonl                 one JSON object per epoch (see train/PROTOCOL.md)
  best.safetensors, best.json   weights of the best epoch and the model config
  last.safetensors, last.json   weights and optimiser state of the last epoch
  learning.png, confusion.png   loss and validation F1 per epoch; the best
                                model's 18-class confusion on validation
  oof.arrow                     the validation rows with the best model's
                                probabilities (prob_mask, prob_gender, prob_age,
                                prob18) and predictions (pred, pred_mask,
                                pred_gender, pred_age_group)
A new run in a RUNDIR that holds an earlier one leaves the earlier run's
files (model, config, metrics) as they are until its first epoch has a
model to replace them: a run stopped before that (Ctrl-C) loses nothing.
With --backend exec they go when the backend starts.

--resume continues a run in RUNDIR from last.safetensors with the settings
of its config.json (--epochs and --patience may be raised); with --backend
exec the job asks the backend to resume from its own checkpoint.

--backend exec -- CMD ARGS... hands the training to an external program
(see train/PROTOCOL.md): the arguments after -- are the program's own. It
hands back facet's network (best.safetensors) or any network as ONNX
(best.onnx, protocol 2); facet-train loads the model, predicts the
validation rows with it as facet-infer would and writes oof.arrow.
plugins/torch_train.py trains facet's network or torchvision's (resnet18,
efficientnet_b0, ...) on a GPU when there is one.

examples:
  facet-train --out runs/f0 --folds build/folds --fold 0 --epochs 20
  facet-train --out runs/all --folds build/folds --all-folds --epochs 20
  facet-train --out runs/x --train a.arrow --val b.arrow --size 48 --width 8 --ops 'flip:0.5'
  facet-train --out runs/f0 --folds build/folds --fold 0 --schedule cosine --warmup 2 --lr 2e-3
  facet-train --out runs/f0 --folds build/folds --fold 0 --backend exec -- python3 plugins/torch_train.py
  facet-train --out runs/r18 --folds build/folds --fold 0 --epochs 30 --batch 256 \
      --backend exec -- python3 plugins/torch_train.py --model resnet18 --size 112 --device auto
`

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
	fs := cli.NewFlags("facet-train", synopsis, help, stderr)
	fs.StringVar(&o.out, "out", "", "run folder `RUNDIR` (required)")
	fs.StringVar(&o.folds, "folds", "", "fold files from facet-split in `DIR`")
	fs.IntVar(&o.fold, "fold", -1, "fold `K` of --folds")
	fs.BoolVar(&o.allFolds, "all-folds", false, "train every fold of --folds in turn (RUNDIR/foldK) and join their out-of-fold predictions")
	fs.StringVar(&o.train, "train", "", "training table `T.arrow`")
	fs.StringVar(&o.val, "val", "", "validation table `V.arrow`")
	fs.IntVar(&o.epochs, "epochs", defaultEpochs, "epochs")
	fs.IntVar(&o.batch, "batch", 32, "batch size (fixed; the last batch of an epoch is filled from its start)")
	fs.IntVar(&o.size, "size", def.InputSize, "input size `S` (images are S x S)")
	fs.IntVar(&o.width, "width", def.Width, "channels of the first stage")
	fs.StringVar(&o.heads, "heads", def.Heads, "head layout: three or single18")
	fs.StringVar(&o.preset, "preset", "", "named settings for the flags not given: seed (the competition team's, for fine-tuning a pretrained model)")
	fs.Float64Var(&o.lr, "lr", def.LR, "Adam learning rate")
	fs.StringVar(&o.schedule, "schedule", def.Schedule, "learning-rate schedule after the warm-up: exp (lr * lr-decay^epoch) or cosine (towards 0 at the last epoch)")
	fs.Float64Var(&o.lrDecay, "lr-decay", def.LRDecay, "the exp schedule's factor per epoch")
	fs.IntVar(&o.warmup, "warmup", def.Warmup, "epochs of linear learning-rate warm-up")
	fs.Float64Var(&o.weightDecay, "weight-decay", def.WeightDecay, "L2 weight decay of conv and linear weights")
	fs.StringVar(&o.loss, "loss", def.Loss, "loss: ce or focal")
	fs.Float64Var(&o.ageSmoothing, "age-smoothing", def.AgeSmoothing, "label smoothing of the age head towards the neighbouring age class")
	fs.Float64Var(&o.labelSmoothing, "label-smoothing", def.LabelSmoothing, "uniform label smoothing of the mask and gender heads")
	fs.StringVar(&o.classWeights, "class-weights", defaultClassWeights, "class weights: '' (none) or auto (inverse training frequency)")
	fs.IntVar(&o.patience, "patience", defaultPatience, "stop after N epochs without a better validation score (0: never)")
	fs.StringVar(&o.ops, "ops", augment.DefaultSpec, "online augmentation `SPEC` ('' for none)")
	fs.Uint64Var(&o.seed, "seed", 1, "random seed (weights, shuffling, augmentation)")
	fs.IntVar(&o.workers, "workers", runtime.NumCPU(), "image loading workers")
	fs.BoolVar(&o.resume, "resume", false, "continue the run in RUNDIR from last.safetensors")
	fs.StringVar(&o.backend, "backend", "gorgonia", "trainer: gorgonia, or exec (the command after --)")
	fs.IntVar(&o.protocol, "protocol", ProtocolVersion, "the exec protocol version written in the job (1 for a plugin that refuses version 2)")
	if err := cli.Parse(fs, args); err != nil {
		return err
	}
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
	if o.workers < 1 {
		return cli.Usagef("--workers must be at least 1")
	}
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
		t.start = func() error { return startRun(o.out, append(b, '\n'), false) }
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
	switch {
	case o.epochs < 1:
		return rc, cli.Usagef("--epochs %d: want >= 1", o.epochs)
	case o.batch < 1:
		return rc, cli.Usagef("--batch %d: want >= 1", o.batch)
	case o.patience < 0:
		return rc, cli.Usagef("--patience %d: want >= 0", o.patience)
	case o.classWeights != "" && o.classWeights != "auto":
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
		if o.protocol != 1 && o.protocol != ProtocolVersion {
			return rc, cli.Usagef("--protocol %d: want 1 or %d", o.protocol, ProtocolVersion)
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
