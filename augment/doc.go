/*
Facet-augment adds augmented copies, class-balancing copies and synthetic
masks to a sample table.

Usage:

	facet-augment --out DIR [--ops SPEC] [--copies N] [--balance COLUMN[=TARGET]] [--masks wear,incorrect] [--seed N] [TABLE]

It reads a sample table (stdin when no TABLE or -) and writes it on with
new rows added: augmented copies (--copies), copies that balance the
classes of a column (--balance), and faces with a synthetic mask drawn
from their landmarks (--masks; needs facet-crop's landmarks). New images go
under --out DIR (JPEG at --quality, made by --workers in parallel). Each
new row keeps its parent's person, labels and fold (so it never crosses
folds), records parent_id and aug_ops, and has source "augment" and
origin 1 (augmented) or 2 (synthetic mask); a drawn mask sets the mask
label (wear or incorrect). Rows of any origin but 0 are training data
only: facet-split writes them to the train files of the folds that do
not validate their person and to no val file, and facet-train leaves them
out of validation. Run facet-augment before facet-split, which writes the
fold files facet-train reads. --sheet FILE.png draws faces
next to the new images made from them. --shard i/n writes only part of the
rows, for several machines.

The image augmented is the crop (crop_path) when the table has one, else
the photo (path); a relative path is found from the working directory, or
else from the table's folder.

A new image that cannot be made (its source image is unreadable) is left
out and reported; when more than --max-failed of them fail, the run fails
(exit 1, no table). An image that cannot be written (a full disk, a
read-only --out) stops the run at once: exit 1, no table.

Ops (--ops, applied in order, each with a probability after the colon; the
default is in the flag list below):

	flip  jitter(b,c,s,h)  affine(r,s,t)  blur(s)  noise(s)  cutout(n,f)  jpeg(q)  gray

Examples:

	facet-augment --out aug --copies 2 --seed 1 cropped.arrow > augmented.arrows
	facet-augment --out aug --balance age_group --ops 'flip:0.5,jitter(b=0.3):0.8' < cropped.arrows > balanced.arrows
	facet-augment --out aug --masks wear,incorrect --sheet masks.png cropped.arrow > masked.arrows
*/
package main
