/*
Facet-prep reads face data sets in their own layouts and writes one facet
sample table.

Usage:

	facet-prep [flags] [NAME=]KIND:PATH...

Sources (KIND:PATH):

	competition:DIR         the competition's train/ (train.csv + images/<id>_<gender>_<race>_<age>/),
	                        eval/ (info.csv + images/), or the folder holding both
	aaf:DIR                 All-Age-Faces images named %05dA%02d.jpg (index, age)
	utkface:DIR             UTKFace images named age_gender_race_date.jpg[.chip.jpg]
	imagefolder:HEAD=DIR    one subfolder per class of HEAD (mask, gender, age_group, label),
	                        e.g. imagefolder:mask=data/masks with masks/{wear,incorrect,none}/
	csv:FILE                a CSV with a path column and any of id, person, subset, race,
	                        mask, gender, age, age_group, label; without an id, a row's id
	                        is its path relative to the CSV's folder (csv/img/a.jpg), or
	                        for an image outside it the absolute path (csv/data/b.jpg)
	boxes:FILE              a CSV of annotated faces, one row each: file (or path), x0 y0 x1 y1
	                        (pixels), the mask label in label (or mask), optionally face,
	                        person, subset, gender, age; ids boxes/FILE#FACE, the box in
	                        box_x0 box_y0 box_x1 box_y1 for facet-crop --boxes

NAME=KIND:PATH names a source: its rows get NAME as their source (instead
of the kind) and at the head of their ids and persons (utkface/x.jpg becomes
NAME/x.jpg; competition and csv ids get NAME/ in front), so two sources
with the same file names keep distinct ids and later stages can tell them
apart, e.g. facet-split --train-only source=NAME. A NAME is letters, digits,
'.', '_' and '-', not a kind; an "=" after the colon is the path's
(imagefolder:mask=DIR). Leave the competition's eval set unnamed when a
submission is to be written: its ids must stay eval/<ImageID>.

Rows that cannot be read are left out and counted by reason on stderr
(--strict makes any of them fatal; --problems FILE lists them all), as are
rows whose id could not name a file under a later stage's --out (facet-crop
names its crops by id): an empty, absolute or ".." segment, a backslash, a
control character. --verify decodes every image with --workers decoders
and leaves out the unreadable ones. --age-bins sets the two ages that cut
the three age groups; --fix FILE applies label corrections (facet-merge
suspects writes them). --report FILE draws the class distribution.

The table goes to stdout as an Arrow stream, or to -o FILE in the format
its name says (.arrow Arrow file, .parquet Parquet, .csv CSV), or as CSV
with --csv. A summary of the rows and classes goes to stderr (none with -q).

Examples:

	facet-prep competition:data/train competition:data/eval aaf:data/aaf > samples.arrows
	facet-prep --age-bins 30,58 --fix corrections/competition.csv -o samples.arrow competition:data
	facet-prep --csv --verify imagefolder:mask=masks utkface:faces/utkface > samples.csv
	facet-prep utkface:faces/utkface utkface-more=utkface:faces/utkface-more > faces.arrows
	facet-prep boxes:crowds/boxes.csv | facet-crop --boxes --out crops > faces.arrows
*/
package main
