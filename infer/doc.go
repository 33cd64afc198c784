/*
Facet-infer predicts every row of a sample table with a trained model.

Usage:

	facet-infer --model RUNDIR_OR_CHECKPOINT [--tta flip] [--submission FILE --info eval/info.csv] [--pseudo 0.9 --pseudo-out FILE] [TABLE]

It reads a sample table (stdin when no TABLE or -), predicts every row and
writes the table on with the prediction columns:

	prob_mask, prob_gender, prob_age         each head's probabilities (list<float32>)
	prob18                                   the 18 class probabilities (list<float32>)
	pred                                     the 18-class prediction (mask*6 + gender*3 + age)
	pred_mask, pred_gender, pred_age_group   each head's prediction
	infer_error                              why a row has no prediction of its own (null when it has)

--model is a facet-train RUNDIR (its best.safetensors or best.onnx), a
.safetensors checkpoint of facet's network or a .onnx model (any network
a plugin trained; run by OpenCV's DNN module), each with its .json config
beside it (see train/PROTOCOL.md). A RUNDIR of --all-folds holds one
model per fold: predict with each (--model RUNDIR/foldK) and combine them
with facet-merge vote.

The image of a row is its crop (crop_path) when the table has one, else
the photo (path), a relative path found from the working directory or
else from the table's folder; a crop that cannot be read falls back to
the photo, with a warning. A row with no readable image keeps its row with the reason in
infer_error, uniform probabilities and pred = --fallback (default 0, "mask
worn, male, under 30"); the run counts such rows. Images are decoded by
--workers, --chunk rows at a time. --shard i/n predicts only part of the
rows, for several machines; facet-merge join puts the parts together.

--tta flip averages each head's probabilities over the image and its
mirror image.

--submission FILE --info eval/info.csv writes the competition's submission:
ImageID,ans with one line per row of info.csv, in its order.

--pseudo T --pseudo-out FILE writes the rows whose 18-class confidence (the
largest of prob18) is at least T as labelled rows ready to join the
training data (facet-merge join): the input's columns with mask, gender,
age_group and label set from the prediction, source = pseudo, the person
kept, and a pseudo_confidence column.

Examples:

	facet-infer --model runs/f0 eval.arrow > eval.pred.arrow
	facet-prep competition:data/eval | facet-crop --out crops | facet-infer --model runs/f0 --tta flip -o eval.pred.arrow
	facet-infer --model runs/resnet/best.onnx --tta flip eval.arrow > eval.pred.arrow
	facet-infer --model runs/f0/best.safetensors --pseudo 0.9 --pseudo-out pseudo.arrow eval.arrow > /dev/null
	facet-infer --model runs/f0 --shard 2/8 -o eval.part2.arrow eval.arrow   # one of 8 machines
*/
package main
