package main

import (
	"fmt"
	"hash/fnv"
	"io"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"

	"github.com/boostershot/facet/internal/augment"
	"github.com/boostershot/facet/internal/cli"
	"github.com/boostershot/facet/internal/label"
	"github.com/boostershot/facet/internal/numrange"
)

// job is one new row to make from a parent row.
type job struct {
	parent int    // row index in the input table
	suffix string // added to the parent id: "~aug1", "~mask-wear", "~bal3"
	fit    augment.MaskFit
	masked bool // draw a mask (fit) instead of running the ops
	seed   uint64
}

// rowInfo is what planning needs of each input row.
type rowInfo struct {
	id               string
	mask             int8
	gender, ageGroup int8
	class            string // value of the --balance column, "" when unknown
	landmarks        bool
}

// classAfter is the balance-column class of a copy of r whose mask became
// mask: the mask and the joint label change with a drawn mask, other
// columns keep the parent's value.
func classAfter(column string, r rowInfo, mask int8) string {
	switch column {
	case "mask":
		return strconv.Itoa(int(mask))
	case "label":
		if l := label.Join(mask, r.gender, r.ageGroup); l != label.Unknown {
			return strconv.Itoa(int(l))
		}
		return ""
	}
	return r.class
}

// maskLabel is the mask class a fit gives.
func maskLabel(fit augment.MaskFit) int8 {
	if fit == augment.FitWear {
		return label.Wear
	}
	return label.Incorrect
}

// jobSeed derives a job's seed from the run seed and the job's identity,
// so a job draws the same numbers whatever the order and the workers.
func jobSeed(seed uint64, id, suffix string) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d\x00%s\x00%s", seed, id, suffix)
	return h.Sum64()
}

// balanceSpec is --balance COLUMN[=TARGET].
type balanceSpec struct {
	column string
	count  int     // target rows per class (0: use share)
	share  float64 // target as a share of the largest class (when count is 0)
}

func parseBalance(s string) (balanceSpec, error) {
	col, target, hasTarget := strings.Cut(s, "=")
	b := balanceSpec{column: strings.TrimSpace(col), share: 1}
	if b.column == "" {
		return b, fmt.Errorf("--balance %q: want COLUMN[=TARGET], e.g. age_group or label=0.5", s)
	}
	if !hasTarget {
		return b, nil
	}
	// A whole number is a row count, anything else a share.
	if _, err := strconv.Atoi(strings.TrimSpace(target)); err == nil {
		n, err := numrange.ParseInt(target, 1, maxBalanceRows)
		if err != nil {
			return b, fmt.Errorf("--balance %q: row count %w", s, err)
		}
		b.count = n
		return b, nil
	}
	f, err := numrange.ParseFloat(target, numrange.Range{Min: 0, Max: 1, MinOpen: true})
	if err != nil {
		return b, fmt.Errorf("--balance %q: target is a row count (e.g. 2000) or a share of the largest class: %w", s, err)
	}
	b.share = f
	return b, nil
}

// maxBalanceRows bounds --balance COLUMN=COUNT: each added row is a job
// and an image, and a count from a typing slip must not plan millions.
const maxBalanceRows = 1_000_000

// plan lists the jobs: copies of every row, masks on unmasked faces with
// landmarks, then copies that bring each class of the balance column up
// to its target. It reports skipped rows and the class counts on w.
func plan(rows []rowInfo, copies int, masks []string, bal *balanceSpec, seed uint64, w io.Writer) []job {
	var jobs []job
	add := func(parent int, suffix string, masked bool, fit augment.MaskFit) {
		jobs = append(jobs, job{parent: parent, suffix: suffix, masked: masked, fit: fit, seed: jobSeed(seed, rows[parent].id, suffix)})
	}
	for i := range rows {
		for k := 1; k <= copies; k++ {
			add(i, "~aug"+strconv.Itoa(k), false, 0)
		}
	}
	noLandmarks, alreadyMasked, faces := 0, 0, 0
	if len(masks) > 0 {
		for i, r := range rows {
			switch {
			case r.mask != label.NoMask:
				alreadyMasked++
				continue
			case !r.landmarks:
				noLandmarks++
				continue
			}
			faces++
			for _, m := range masks {
				if m == "wear" {
					add(i, "~mask-wear", true, augment.FitWear)
					continue
				}
				// Incorrect wear: under the nose or down on the chin.
				fit := augment.FitNoseOut
				if rand.New(rand.NewPCG(jobSeed(seed, r.id, "fit"), 0)).IntN(3) == 0 {
					fit = augment.FitChin
				}
				add(i, "~mask-incorrect", true, fit)
			}
		}
		cli.Printf(w, program, "%d masked copies of %d unmasked faces; skipped %d without landmarks and %d already masked or of unknown mask",
			countMasked(jobs), faces, noLandmarks, alreadyMasked)
	}
	if bal != nil {
		jobs = append(jobs, balanceJobs(rows, jobs, *bal, seed, w)...)
	}
	return jobs
}

func countMasked(jobs []job) int {
	n := 0
	for _, j := range jobs {
		if j.masked {
			n++
		}
	}
	return n
}

// balanceJobs adds copies of rows of under-represented classes. Counts
// include the rows the other jobs add (a masked copy of an unmasked face
// has the class its mask gives it).
func balanceJobs(rows []rowInfo, earlier []job, b balanceSpec, seed uint64, w io.Writer) []job {
	before := map[string]int{}
	members := map[string][]int{}
	for i, r := range rows {
		if r.class == "" {
			continue
		}
		before[r.class]++
		members[r.class] = append(members[r.class], i)
	}
	for _, j := range earlier {
		c := rows[j.parent].class
		if j.masked {
			c = classAfter(b.column, rows[j.parent], maskLabel(j.fit))
		}
		if c != "" {
			before[c]++
		}
	}
	classes := make([]string, 0, len(before))
	largest := 0
	for c, n := range before {
		classes = append(classes, c)
		largest = max(largest, n)
	}
	sort.Slice(classes, func(i, j int) bool { return lessNum(classes[i], classes[j]) })
	target := b.count
	if target == 0 {
		target = int(b.share * float64(largest))
	}
	var jobs []job
	after := map[string]int{}
	for _, c := range classes {
		after[c] = before[c]
		need := target - before[c]
		if need <= 0 || len(members[c]) == 0 {
			continue
		}
		order := append([]int(nil), members[c]...)
		r := rand.New(rand.NewPCG(jobSeed(seed, b.column, c), 1))
		r.Shuffle(len(order), func(i, j int) { order[i], order[j] = order[j], order[i] })
		for k := range need {
			parent := order[k%len(order)]
			suffix := "~bal" + strconv.Itoa(k/len(order)+1)
			jobs = append(jobs, job{parent: parent, suffix: suffix, seed: jobSeed(seed, rows[parent].id, suffix)})
		}
		after[c] += need
	}
	cli.Printf(w, program, "balance %s to %d rows per class:", b.column, target)
	for _, c := range classes {
		fmt.Fprintf(w, "  %s=%s: %d -> %d\n", b.column, c, before[c], after[c])
	}
	return jobs
}

func lessNum(a, b string) bool {
	x, e1 := strconv.Atoi(a)
	y, e2 := strconv.Atoi(b)
	if e1 == nil && e2 == nil {
		return x < y
	}
	return a < b
}

// uniqueIDs refuses a table whose ids are not unique, or whose new rows
// would take ids it already has (a table augmented before, augmented
// again): a new image goes to --out under its row's id, so a doubled id
// would overwrite another row's image.
func uniqueIDs(rows []rowInfo, jobs []job) error {
	seen := make(map[string]int, len(rows)+len(jobs))
	for i, r := range rows {
		if first, ok := seen[r.id]; ok {
			return fmt.Errorf("rows %d and %d both have id %q: ids must be unique (each names its new images)", first+1, i+1, r.id)
		}
		seen[r.id] = i
	}
	for _, j := range jobs {
		id := rows[j.parent].id + j.suffix
		if first, ok := seen[id]; ok {
			if first < len(rows) {
				return fmt.Errorf("the new row %q of row %d would take the id of row %d, which the table has already (was it augmented before?)", id, j.parent+1, first+1)
			}
			return fmt.Errorf("two new rows would have id %q", id)
		}
		seen[id] = len(rows)
	}
	return nil
}
