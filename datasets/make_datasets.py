"""Generate the demo data sets shipped in datasets/ (the course data in ../shared may not be copied).

    python datasets/make_datasets.py

writes datasets/trial.csv: a simulated longitudinal trial, 200 subjects x 4 visits, binary and count
outcomes with subject effects, some dropout.  Seeded, so the file is reproducible byte for byte.
"""
from __future__ import annotations

import csv
import math
import random
from pathlib import Path


def main() -> None:
    rng = random.Random(20261124)
    out = Path(__file__).resolve().parent / "trial.csv"
    rows = []
    for sid in range(1, 201):
        trt = 1 if sid > 100 else 0
        b0 = rng.gauss(0, 1.0)
        b1 = rng.gauss(0, 0.3)
        age = rng.randint(20, 60)
        dropout = rng.random()
        for visit in range(1, 5):
            eta = -1.0 + 0.4 * visit + 0.5 * trt * visit / 2 + b0 + b1 * visit
            p = 1 / (1 + math.exp(-eta))
            y = 1 if rng.random() < p else 0
            lam = math.exp(0.8 + 0.1 * visit - 0.2 * trt * visit / 2 + 0.5 * b0)
            # Poisson draw by inversion
            k, pk, u = 0, math.exp(-lam), rng.random()
            acc = pk
            while u > acc:
                k += 1
                pk *= lam / k
                acc += pk
            missing = visit > 2 and dropout < 0.15 * (visit - 2)
            rows.append([sid, trt, age, visit, "" if missing else y, "" if missing else k])
    with out.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "trt", "age", "visit", "resp", "count"])
        w.writerows(rows)
    print(f"wrote {out} ({len(rows)} rows)")


if __name__ == "__main__":
    main()
