/*
Facet-crop crops the face out of every photo of a sample table (or of a
folder) with a chain of detectors.

Usage:

	facet-crop --out DIR [flags] [TABLE]
	facet-crop --in DIR --out DIR [flags]

It reads a sample table (stdin when no TABLE or -) and writes it on with
crop columns added: crop_path, x0 y0 x1 y1 (the face box in the photo),
crop_stage, crop_score, crop_faces, landmarks (68 x,y pairs in photo
pixels, when dlib found the face), crop_x0 crop_y0 crop_side crop_angle
(the square of the photo the crop shows, and the --align rotation),
crop_error and crop_hash (uint64, the crop's perceptual hash, by which
facet-split keeps duplicates in one fold). A photo that cannot be cropped
keeps its row, with the reason in crop_error; when more rows than
--max-failed fail, the run fails (exit 1, no table). A crop that cannot be
written (a full disk, a read-only --out) stops the run at once: exit 1, no
table. With --in, every image under DIR is cropped. --shard i/n crops only
part of the rows, for several machines; facet-merge join puts the parts
together.

Crops are square and never stretched: the face box grows by --margin on
every side, then to a square around its centre; what falls outside the
photo is black. They are --size pixels a side, written as --format jpg
(at --quality) or png. Each crop file carries its detection in its own
metadata (JPEG comment, PNG text), which --resume reads to skip finished
photos.

Detectors (--detectors, tried in order on a copy --detect-side pixels long;
the default puts the cheap cascade before the slow dlib-fine):

	dlib       dlib's HOG frontal face detector (--upsample, --dlib-adjust), with
	           68 landmarks from --landmarks
	cascade    OpenCV LBP proposals verified by the full LBP and Haar frontal
	           cascades of --cascades (finds masked faces whose eyes and nose show)
	dlib-fine  dlib again on the copy upsampled once with a lower threshold,
	           for the faces the passes before missed (mostly masked ones)
	dnn        an OpenCV DNN face detector, from --dnn-model and --dnn-config
	           (e.g. res10 SSD), keeping faces above --dnn-threshold
	center     a fixed box (--center), tuned to 384x512 portraits; never fails

Examples:

	facet-prep competition:data/train | facet-crop --out crops > cropped.arrows
	facet-crop --out crops --size 256 --margin 0.3 -o cropped.arrow samples.arrow
	facet-crop --in photos/ --out faces/ --detectors dlib,cascade
*/
package main
