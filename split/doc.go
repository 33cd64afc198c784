/*
Facet-split assigns every row of a sample table to a fold, grouped by
person and stratified by class.

Usage:

	facet-split [-k 5 | --val-share 0.2] [--by person] [--stratify label] [--train-only COLUMN=VALUE,...] [--seed N] [--out DIR] [TABLE]

It reads a sample table (stdin when no TABLE or -) and writes it on with a
fold column: the fold in which the row is validation data (0..k-1 for -k
folds), or, with --val-share, one train/validation split: 0 for the
validation share of the rows and -1 for the rest. Rows of one group (--by)
never fall in two folds; each fold holds every class of --stratify in
about the table's share, the same for every --seed. Rows whose
stratification columns are unknown (-1) are spread by group like any other
class.

When the table has facet-crop's crop_hash, rows whose hashes differ in at
most --dup-distance bits are duplicates (with crop_hash_edges, also when
one crop's hash cut a little tighter on one edge is that near the other's:
copies cropped a few percent differently): their groups are joined, so a
duplicate never straddles train and validation, and a dup_group column
(the id of the group's first row; null when alone) says which rows were
linked. The report counts the groups and those whose labels conflict.

--train-only COLUMN=VALUE[,COLUMN=VALUE...] keeps the rows matching any of
them out of validation (extra data the model is not judged on): fold -1,
in every fold's train file and in no val file; the folds and their class
shares are computed over the other rows only. A group holding both kinds
of rows becomes training-only as a whole (reported), so it never crosses
folds.

Rows that a stage made (an origin column other than 0: facet-augment's
augmented copies and synthetic masks, pseudo labels) are never validation
data and take no part in the split, so the folds are those of the
original rows: each gets its person's fold and lies only in the train
files of the other folds (a person of such rows alone: fold -1). The
recipe's order is facet-prep | facet-crop | facet-augment | facet-split:
augment first, so its rows reach the train files.

With --out DIR it also writes, for each fold k, foldk.train.arrow and
foldk.val.arrow (Arrow IPC files) and a manifest.json, ready for
facet-train --folds DIR. A report of the folds' groups, rows and class
shares goes to stderr, with a warning for each class that cannot appear in
every fold (none with -q).

Examples:

	facet-prep competition:data/train | facet-split -k 5 --out folds > split.arrows
	facet-split --val-share 0.2 --stratify mask,gender,age_group --seed 7 --out folds samples.arrow
	facet-split -k 5 --train-only source=aaf --out folds samples.arrow
*/
package main
