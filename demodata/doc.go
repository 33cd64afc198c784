/*
Facet-demodata writes a small synthetic face-mask dataset in the
competition's layout (train/, eval/) plus an All-Age-Faces style folder
(aaf/), so the facet pipeline can be tried end to end without real data.
See package internal/demo for what the pictures show.

Usage:

	facet-demodata --out DIR [flags]

It writes, under --out DIR (which must not exist or be empty; --force
replaces an earlier demo dataset there):

	DIR/train/train.csv, DIR/train/images/<id>_<gender>_Asian_<age>/{mask1..5,incorrect_mask,normal}.jpg
	DIR/eval/info.csv, DIR/eval/images/<hash>.jpg, DIR/eval/truth.csv (hidden answers)
	DIR/aaf/<index>A<age>.jpg (All-Age-Faces layout, no masks)
	DIR/faces.csv (drawn face box of every picture)

--persons and --eval-persons set how many persons of 7 photos each the
train and eval sets show, --aaf how many All-Age-Faces pictures. Drawn
faces show mask state, gender and age. The same --seed gives the same
bytes, whatever --workers says. Nothing is left behind if the run fails or
is interrupted.

Examples:

	facet-demodata --out /tmp/demo --persons 60 --eval-persons 20 --aaf 60 --seed 1
*/
package main
