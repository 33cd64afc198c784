/*
Facet-merge combines facet tables: prediction ensembles (vote), sample
tables joined into one (join), likely label errors found in out-of-fold
predictions (suspects) and the scores of a prediction table (score).

Usage:

	facet-merge COMMAND [flags] ARGS...

Commands:

	vote       combine prediction tables (soft, geometric or hard voting), by id;
	           optionally write the competition submission
	join       concatenate sample tables, reconciling their columns
	suspects   find likely label errors in out-of-fold predictions (confident
	           learning) as a corrections file for facet-prep --fix
	score      per-class precision, recall and F1, accuracy and macro F1 of each
	           head and of the 18 classes

Run facet-merge COMMAND --help for its flags and examples. Every command
takes -q (no report on stderr) and --version.

Examples:

	facet-merge vote --soft -o ensemble.arrow run0/oof.arrow run1/oof.arrow
	facet-merge vote --submission submission.csv --info data/eval/info.csv a.arrow b.arrow > votes.arrows
	facet-merge join train.arrow pseudo.arrow > all.arrows
	facet-merge suspects --sheet suspects.png -o suspects.csv run/oof.arrow
	facet-merge score run/oof.arrow

# facet-merge vote

Usage:

	facet-merge vote [--soft | --geo | --hard] [--weights W,W,...] [--submission FILE --info INFO.csv] [--pseudo T --pseudo-out FILE] PRED PRED...

Vote combines prediction tables (facet-train's oof.arrow, facet-infer's
output, an earlier vote) row by row, matched by id: every table must hold
the same ids, in any order; a missing or extra id is an error naming it.

	--soft  (default) the weighted mean of the 18-class probabilities
	--geo   the weighted geometric mean (mean of logs, renormalised to sum 1);
	        probabilities are floored at 1e-12 first, so one model's zero
	        weighs like a very small probability instead of vetoing a class
	--hard  each model votes its pred (votes weighted); a tie goes to the tied
	        class with the largest summed probability. prob18 is then the soft
	        mean, pred the vote winner and pred_mask, pred_gender and
	        pred_age_group the winner's parts

--weights are normalised to sum 1. The heads (prob_mask, prob_gender,
prob_age) are the marginals of the combined 18 classes. The output is the
first table's rows and columns, in its order, with the prediction columns
replaced. All tables must share their age bins.

--submission FILE writes the competition submission (ImageID,ans, one line
per row of --info's info.csv, in its order), matching rows by id
(eval/<ImageID>) or by the image's file name; an info.csv row without a
prediction is an error.

--pseudo T --pseudo-out FILE writes the rows whose combined 18-class
confidence (the largest of prob18) is at least T as labelled rows ready to
join the training data, as facet-infer --pseudo does for one model.

Examples:

	facet-merge vote -o ensemble.arrow run0/oof.arrow run1/oof.arrow run2/oof.arrow
	facet-merge vote --geo --weights 2,1 eval-a.arrow eval-b.arrow > votes.arrows
	facet-merge vote --hard --submission submission.csv --info data/eval/info.csv a.arrow b.arrow c.arrow > votes.arrows
	facet-merge vote --pseudo 0.9 --pseudo-out pseudo.arrow -o votes.arrow fold0/eval.arrow fold1/eval.arrow fold2/eval.arrow

# facet-merge join

Usage:

	facet-merge join [--prefer first|last] [-o FILE] [--csv] TABLE...

Join concatenates sample tables (training data, pseudo labels, augmented
rows...) into one, rows in the order given (- reads stdin), as
facet-train --all-folds joins its folds' out-of-fold tables
(internal/join).

The output has every column of every table: the first table's in its
order, then the ones the others add. Where a table lacks a column its rows
get -1 in the label columns (mask, gender, age_group, label, age), which is
facet's "unknown", and null elsewhere. A column with one name and two types
is an error, and so are tables with different age bins.

An id in two rows is an error naming it, unless --prefer says which row
stays: first (the earlier row in the order given) or last.

Examples:

	facet-merge join train.arrow pseudo.arrow > all.arrows
	facet-prep competition:data/train | facet-merge join --prefer last -o fixed.arrow - relabelled.arrow

# facet-merge suspects

Usage:

	facet-merge suspects [--heads mask,gender,age_group] [--by person|id] [--method threshold|noise-rate] [--rank margin|self] [--sheet FILE.png] [-o FILE] [OOF_PREDICTIONS]

Suspects finds likely label errors in out-of-fold predictions
(facet-train's RUNDIR/oof.arrow: the validation rows with their labels and
the model's probabilities) by confident learning (Northcutt et al., 2021),
one head at a time. t_j, the threshold of class j, is the mean probability
of j over the rows labelled j (the model's typical self-confidence for j);
a row labelled i counts as class j when j is the most probable of the
classes whose probability reaches their threshold (the "confident joint").

	--method threshold   (default) the rows labelled i that count as some
	                     j != i are the suspects
	--method noise-rate  "prune by noise rate" (cleanlab's default): the
	                     confident joint, scaled so each label keeps its row
	                     count, estimates how many rows labelled i are j;
	                     that many rows labelled i with the largest margin
	                     p(j) - p(i) are the suspects, unless the model's
	                     top class is their label. It finds more errors the
	                     model is less sure of, and more false alarms

Suspects are ranked by margin p(j) - p(i) (--rank margin) or by the lowest
self-confidence p(i) (--rank self). Heads are judged apart (--heads says
which) because corrections are made per field and labels are often partial
(a mask data set has no ages).

With --by person (the default), gender and age group, which belong to the
person, are judged per person: a person is a suspect of class j when more
than half of its photos are, and becomes one correction, with its photos'
probabilities averaged (a person with one labelled photo, or whose photos'
labels disagree, is judged photo by photo). Mask is always judged per
photo. Rows that facet-augment made (origin augmented or synthetic mask)
are left out:
facet-prep does not know their ids.

The output (stdout, or -o FILE) is a corrections CSV for facet-prep --fix
(by,key,field,value, note), best suspects first. Read it before you use
it: each line sets the field to the model's class. The columns after note
(given, predicted, confidence, self_confidence, margin, rows) are for
people; the fix reader takes them as part of the note. --sheet draws the
top --sheet-count suspects' images.

Duplicates come first: rows of one duplicate group (facet-split's
dup_group column, or else crop_hash within --dup-distance bits) whose
mask, gender or age group differs from the group's most common one, or
whose age lies more than 5 years from the group's median, are listed as
"duplicate of <id>: gender female vs male", the value set to the group's.
A table without predictions (facet-split's output) gets this check alone.

Examples:

	facet-merge suspects -o suspects.csv --sheet suspects.png run/oof.arrow
	facet-merge suspects --heads gender --by id --rank self run/oof.arrow | head -20
	facet-prep --fix suspects.csv competition:data/train > relabelled.arrows

# facet-merge score

Usage:

	facet-merge score [--json] [--confusion FILE.png] [PRED]

Score scores a prediction table (facet-infer's output, facet-train's
oof.arrow, a vote) against the labels it carries, for each head (mask,
gender, age_group: the rows whose part is known) and the 18 classes (the
rows with all three parts). Reads stdin when no PRED is given.

On stdout: a summary line per head (rows, accuracy, macro F1, as
facet-train's metrics.jsonl defines them), then each head's report laid
out as scikit-learn's classification_report (digits=4): precision, recall,
F1 and support of every class present in the truth or the predictions,
accuracy, and the macro and support-weighted averages. A class never
predicted has precision 0 (scikit-learn's zero_division=0), and F1 0 when
its recall is 0 too. --json writes the same numbers as one JSON array, an
object a head: head, n, acc, f1 (macro), classes (class, name, precision,
recall, f1, support, predicted), macro_avg, weighted_avg, names (every
class's name) and confusion (names x names, rows the truth).

--confusion draws each head's confusion matrix (counts and row shares) to
a PNG, leaving out heads with no labelled row and saying so.

Examples:

	facet-merge score build/demo/r1/oof.arrow
	facet-infer --model runs/f0 folds/fold0.val.arrow | facet-merge score --json
	facet-merge score --confusion confusion.png runs/f0/oof.arrow
*/
package main
