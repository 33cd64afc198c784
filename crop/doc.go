/*
Facet-crop crops the face out of every photo of a sample table (or of a
folder) with a chain of detectors.

Usage:

	facet-crop --out DIR [flags] [TABLE]
	facet-crop --in DIR --out DIR [flags]
	facet-crop --boxes --out DIR [flags] [TABLE]

It reads a sample table (stdin when no TABLE or -) and writes it on with
crop columns added: crop_path, x0 y0 x1 y1 (the face box in the photo),
crop_stage, crop_score, crop_faces, landmarks (68 x,y pairs in photo
pixels, when dlib found the face), crop_x0 crop_y0 crop_side crop_angle
(the square of the photo the crop shows, and the --align rotation),
crop_error and crop_hash (uint64, the crop's perceptual hash, by which
facet-split keeps duplicates in one fold), crop_hash_edges (the hashes
of the crop with a little cut off each edge) and crop_face (the face's
index in its photo, -1 for a photo without a crop). A photo that cannot be cropped
keeps its row, with the reason in crop_error; when more rows than
--max-failed fail, the run fails (exit 1, no table). A crop that cannot be
written (a full disk, a read-only --out) stops the run at once: exit 1, no
table. With --in, every image under DIR is cropped. --shard i/n crops only
part of the rows, for several machines; facet-merge join puts the parts
together.

--faces one (the default) crops the one face a portrait means. --faces all
crops every face of a scene: one row and one crop per face, with the id
ROW#K (K = 0, 1, ... left to right by the faces' boxes; the crop of face 2
of a.jpg is a.jpg#2.jpg) and the parent row's other columns (labels,
person); a photo without a face keeps one row with its own id and the
reason, never a fixed-box crop. --min-face PX is the smallest face looked
for: each detector sees a copy of the photo scaled (up when needed) so that
such a face is the smallest it finds (default 20 with --faces all; with
--faces one, off: every detector sees the --detect-side copy). --boxes
crops the boxes a table gives (box_x0 box_y0 box_x1 box_y1, as
facet-prep's boxes: source writes) instead of detecting, with the same
margin and geometry: a detection data set becomes classification data.

Crops are square and never stretched: the face box grows by --margin on
every side, then to a square around its centre; what falls outside the
photo is black. They are --size pixels a side, written as --format jpg
(at --quality) or png. Each crop file carries its detection in its own
metadata (JPEG comment, PNG text), which --resume reads to skip finished
photos.

Detectors (--detectors, tried in order on a copy --detect-side pixels long;
the default puts the cheap cascade before the slow dlib-fine; with --faces
all every detector but center runs, and the default is dlib,cascade):

	dlib       dlib's HOG frontal face detector (--upsample, --dlib-adjust), with
	           68 landmarks from --landmarks
	cascade    OpenCV LBP proposals verified by the full LBP and Haar frontal
	           cascades of --cascades (finds masked faces whose eyes and nose show)
	dlib-fine  dlib again on the copy upsampled once with a lower threshold,
	           for the faces the passes before missed (mostly masked ones)
	dnn        an OpenCV DNN face detector you bring, keeping faces above
	           --dnn-threshold: --dnn-model and --dnn-config of the res10 SSD
	           (Caffe .caffemodel and .prototxt, or TensorFlow .pb and .pbtxt),
	           or --dnn-model alone for YuNet (.onnx, e.g.
	           face_detection_yunet_2022mar.onnx)
	center     a fixed box (--center), tuned to 384x512 portraits; never fails

Examples:

	facet-prep competition:data/train | facet-crop --out crops > cropped.arrows
	facet-crop --out crops --size 256 --margin 0.3 -o cropped.arrow samples.arrow
	facet-crop --in photos/ --out faces/ --detectors dlib,cascade
	facet-crop --in scenes/ --out faces/ --faces all --min-face 24 --csv > faces.csv
	facet-prep boxes:scenes/boxes.csv | facet-crop --boxes --out faces/ > faces.arrows
*/
package main
