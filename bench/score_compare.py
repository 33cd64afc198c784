#!/usr/bin/python3
"""Compare facet-merge score with scikit-learn's classification_report.

For each prediction table (facet-train's oof.arrow, facet-infer's or
facet-merge vote's output) the script reads the labels and predictions
through `facet-merge join --csv` (Debian's Python has no Arrow reader),
scores them with scikit-learn (classification_report, zero_division=0)
and compares every number of `facet-merge score --json`: each class's
precision, recall, F1 and support, the accuracy and the macro and
weighted averages, per head (mask, gender, age_group: rows whose part is
known; predictions the argmax of prob_mask / prob_gender / prob_age) and
for the 18 classes (rows with all three parts; predictions the pred
column), as facet-merge score defines them.

It prints, per table and head, the rows, the classes, and the largest
difference between facet's and scikit-learn's numbers, and exits 1 when a
number differs at the 4th decimal (|difference| >= 5e-5) or a class is in
one report and not the other.

Usage: bench/score_compare.py [--merge bin/facet-merge] [TABLE...]
With no TABLE, every prediction table make demo and make real left under
build/ (r1/oof.arrow, both rounds' folds' oof.arrow, val-s*.pred.arrow).
Needs Debian's python3-sklearn (make bench-deps).
"""
import argparse, csv, glob, io, json, subprocess, sys

from sklearn.metrics import classification_report

HEADS = [("mask", "mask", "prob_mask"), ("gender", "gender", "prob_gender"), ("age_group", "age_group", "prob_age")]
TOLERANCE = 5e-5


def label(v):
    """A label cell: -1 (facet's unknown) or empty (null) is None."""
    v = v.strip()
    if v == "" or int(v) < 0:
        return None
    return int(v)


def argmax(cell):
    """The first largest value's index of a list cell, {a,b} or [a,b]."""
    vals = [float(x) for x in cell.strip().strip("{}[]").split(",")]
    return max(range(len(vals)), key=lambda i: (vals[i], -i))


def sklearn_report(truth, pred):
    """classification_report as a dict, keyed by class code."""
    rep = classification_report(truth, pred, output_dict=True, zero_division=0)
    out = {"classes": {}}
    for k, v in rep.items():
        if k in ("macro avg", "weighted avg"):
            out[k] = v
        elif k == "accuracy":
            out[k] = v
        elif k != "micro avg":
            out["classes"][int(k)] = v
    return out


def compare(facet, sk):
    """The largest difference and a list of problems."""
    worst, problems = 0.0, []
    got = {c["class"]: c for c in facet.get("classes") or []}
    if set(got) != set(sk["classes"]):
        problems.append(f"classes facet {sorted(got)} sklearn {sorted(sk['classes'])}")
    for c in set(got) & set(sk["classes"]):
        f, s = got[c], sk["classes"][c]
        for a, b in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            worst = max(worst, abs(f[a] - s[b]))
        if f["support"] != s["support"]:
            problems.append(f"class {c}: support {f['support']} vs {s['support']}")
    worst = max(worst, abs(facet["acc"] - sk["accuracy"]))
    for key, name in (("macro_avg", "macro avg"), ("weighted_avg", "weighted avg")):
        for a, b in (("precision", "precision"), ("recall", "recall"), ("f1", "f1-score")):
            worst = max(worst, abs(facet[key][a] - sk[name][b]))
        if facet[key]["support"] != sk[name]["support"]:
            problems.append(f"{name}: support {facet[key]['support']} vs {sk[name]['support']}")
    worst = max(worst, abs(facet["f1"] - sk["macro avg"]["f1-score"]))
    if worst >= TOLERANCE:
        problems.append(f"largest difference {worst:.2g}")
    return worst, problems


def run(*cmd):
    """cmd's stdout; its stderr and exit 1 when it fails."""
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"score_compare: {' '.join(cmd)} failed:\n{r.stderr}")
    return r.stdout


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--merge", default="bin/facet-merge")
    ap.add_argument("tables", nargs="*")
    args = ap.parse_args()
    tables = args.tables or sorted(
        glob.glob("build/*/r1/oof.arrow") + glob.glob("build/*/r[12]/fold*/oof.arrow") + glob.glob("build/real/val-s*.pred.arrow"))
    if not tables:
        sys.exit("score_compare: no prediction table given and none under build/ (run make demo first)")
    failed = False
    print(f"{'table':40} {'head':10} {'rows':>6} {'classes':>7} {'max |facet - sklearn|':>22}")
    for path in tables:
        facet = json.loads(run(args.merge, "score", "--json", path))
        facet = {h["head"]: h for h in facet}
        text = run(args.merge, "join", "-q", "--csv", path)
        rows = list(csv.DictReader(io.StringIO(text)))
        truth = {h: [label(r[col]) for r in rows] for h, col, _ in HEADS}
        pred = {h: [argmax(r[probs]) for r in rows] for h, _, probs in HEADS}
        truth["18-class"] = [None if None in (m, g, a) else m * 6 + g * 3 + a
                             for m, g, a in zip(truth["mask"], truth["gender"], truth["age_group"])]
        pred["18-class"] = [int(r["pred"]) for r in rows]
        for head in ("mask", "gender", "age_group", "18-class"):
            keep = [i for i, t in enumerate(truth[head]) if t is not None]
            f = facet[head]
            if not keep:
                ok = f["n"] == 0
                print(f"{path[-40:]:40} {head:10} {0:6d} {0:7d} {'(no labelled row)':>22}{'' if ok else '  FACET HAS ROWS'}")
                failed |= not ok
                continue
            sk = sklearn_report([truth[head][i] for i in keep], [pred[head][i] for i in keep])
            worst, problems = compare(f, sk)
            if f["n"] != len(keep):
                problems.append(f"rows facet {f['n']} sklearn {len(keep)}")
            print(f"{path[-40:]:40} {head:10} {len(keep):6d} {len(sk['classes']):7d} {worst:22.2g}"
                  + ("  " + "; ".join(problems) if problems else ""))
            failed |= bool(problems)
    print("score_compare:", "DIFFERENT" if failed else f"facet-merge score agrees with scikit-learn to 4 decimals (|difference| < {TOLERANCE})")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
