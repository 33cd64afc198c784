#!/usr/bin/python3
"""Compare facet-split with scikit-learn's StratifiedGroupKFold.

Both split the same tables into 5 folds grouped by person and stratified by
class; the same code measures both: the worst deviation of any class's
share in any fold from its share in the whole table, the spread of fold
sizes, group leakage, and the time.

Tables:
  competition  2,700 persons x 7 photos with the competition's class mix
               (5 wear, 1 incorrect, 1 none per person; gender x age shares
               derived from the published counts), synthetic.
  faces        the real faces of ../shared/data (UTKFace Asian + mask crops),
               when present, stratified by mask,gender,age_group.

Usage: bench/split_compare.py [--facet bin/facet-split] [--prep bin/facet-prep]
       [--data ../shared/data] [--seeds 5]
Needs Debian's python3-sklearn (make bench-deps).
"""
import argparse, csv, io, os, random, subprocess, sys, tempfile, time

import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

K = 5
# Shares of the six gender x age groups among the competition's 2,700
# training persons (male <30, 30-59, >=60, female <30, 30-59, >=60).
MIX = [0.1548, 0.1333, 0.0311, 0.2000, 0.4267, 0.0541]


def competition_csv(path, persons=2700, seed=7):
    rng = random.Random(seed)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["path", "id", "person", "mask", "gender", "age_group"])
        for p in range(persons):
            ga = rng.choices(range(6), MIX)[0]
            for i, m in enumerate([0, 0, 0, 0, 0, 1, 2]):
                w.writerow([f"img/{p:06d}_{i}.jpg", f"{p:06d}/{i}", f"{p:06d}", m, ga // 3, ga % 3])


def read_table_csv(text, strat):
    rows = list(csv.DictReader(io.StringIO(text)))
    groups = [r["person"] for r in rows]
    strata = ["/".join(r[c] for c in strat) for r in rows]
    return rows, groups, strata


def measure(groups, strata, fold_of_row):
    classes = sorted(set(strata))
    n = len(strata)
    share = {c: strata.count(c) / n for c in classes}
    worst, sizes = 0.0, []
    for f in range(K):
        idx = [i for i in range(n) if fold_of_row[i] == f]
        sizes.append(len(idx))
        for c in classes:
            s = sum(1 for i in idx if strata[i] == c) / max(1, len(idx))
            worst = max(worst, abs(s - share[c]))
    leaks = sum(1 for g in set(groups) if len({fold_of_row[i] for i in range(n) if groups[i] == g}) > 1)
    spread = (max(sizes) - min(sizes)) / (n / K)
    return worst, spread, leaks


def run_sklearn(groups, strata, seed):
    y = np.unique(np.array(strata), return_inverse=True)[1]
    g = np.unique(np.array(groups), return_inverse=True)[1]
    t = time.perf_counter()
    folds = np.empty(len(y), dtype=int)
    for f, (_, val) in enumerate(StratifiedGroupKFold(n_splits=K, shuffle=True, random_state=seed).split(np.zeros(len(y)), y, g)):
        folds[val] = f
    return list(folds), time.perf_counter() - t


def run_facet(facet, arrow_path, strat, seed):
    t = time.perf_counter()
    out = subprocess.run([facet, "-k", str(K), "--seed", str(seed), "--stratify", ",".join(strat), "--csv", "-q", arrow_path],
                         check=True, capture_output=True, text=True).stdout
    took = time.perf_counter() - t
    rows = list(csv.DictReader(io.StringIO(out)))
    return [int(r["fold"]) for r in rows], took


def compare(name, facet, arrow_path, csv_text, strat, seeds):
    rows, groups, strata = read_table_csv(csv_text, strat)
    res = {"sklearn": [], "facet": []}
    for seed in range(1, seeds + 1):
        folds, took = run_sklearn(groups, strata, seed)
        res["sklearn"].append(measure(groups, strata, folds) + (took,))
        folds, took = run_facet(facet, arrow_path, strat, seed)
        res["facet"].append(measure(groups, strata, folds) + (took,))
    print(f"\n{name}: {len(rows)} rows, {len(set(groups))} groups, {len(set(strata))} classes, {seeds} seeds (mean; worst over seeds)")
    print(f"  {'':8} {'worst share dev. (points)':>27} {'fold size spread':>18} {'leaked groups':>14} {'time (s)':>9}")
    for tool in ("sklearn", "facet"):
        r = res[tool]
        w = [x[0] * 100 for x in r]
        print(f"  {tool:8} {sum(w)/len(w):13.3f} (max {max(w):.3f}) {100*sum(x[1] for x in r)/len(r):17.2f}% {sum(x[2] for x in r):14d} {sum(x[3] for x in r)/len(r):9.3f}")
    return res


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--facet", default="bin/facet-split")
    ap.add_argument("--prep", default="bin/facet-prep")
    ap.add_argument("--data", default=os.environ.get("FACET_TESTDATA", "../shared/data"))
    ap.add_argument("--seeds", type=int, default=5)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        comp = os.path.join(tmp, "competition.csv")
        competition_csv(comp)
        arrow = os.path.join(tmp, "competition.arrow")
        subprocess.run([a.prep, "-q", "-o", arrow, "csv:" + comp], check=True)
        text = subprocess.run([a.prep, "-q", "--csv", "csv:" + comp], check=True, capture_output=True, text=True).stdout
        compare("competition-shaped (synthetic)", a.facet, arrow, text, ["label"], a.seeds)
        if os.path.isdir(os.path.join(a.data, "faces")):
            srcs = ["utkface:" + os.path.join(a.data, "faces", "utkface"), "imagefolder:mask=" + os.path.join(a.data, "masks")]
            arrow = os.path.join(tmp, "faces.arrow")
            subprocess.run([a.prep, "-q", "-o", arrow] + srcs, check=True, stderr=subprocess.DEVNULL)
            text = subprocess.run([a.prep, "-q", "--csv"] + srcs, check=True, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True).stdout
            compare("real faces (../shared/data)", a.facet, arrow, text, ["mask", "gender", "age_group"], a.seeds)
        else:
            print(f"\nreal faces: {a.data} not found, skipped")


if __name__ == "__main__":
    main()
