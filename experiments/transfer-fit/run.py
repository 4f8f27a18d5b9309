#!/usr/bin/env python3
"""Transfer fitting on real data: a Jetson Nano profile from a handful of measured networks.

For n in 5, 10, 20, 50 and seeds 1..5, draws n networks (seeded) from the third-party Jetson
Nano set (../shared/datasets/jetson-nano-icas), fits them twice with `joules fit --networks`:
with the shipped TX2 profile as prior (`--prior profiles/jetson-tx2.yaml`: the prior's models
keep their families, granularities and term ratios; a few scale factors are fitted), once with
the scale set chosen by cross-validation and once with `--scales per-class`, and from scratch, and scores each fit on every other network of the set (`--validate`). Writes
results.md beside this script: per n, the median over the seeds of the MAPE on the unseen
networks, prior against scratch, and every seed's figure.

    experiments/transfer-fit/run.py [--data DIR] [--joules BIN] [--work DIR]

Needs a built joules (build/joules). Standard library only. About a minute of one CPU.
"""

import csv
import importlib.util
import json
import os
import random
import re
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import joules_experiment  # noqa: E402  (experiments/joules_experiment.py)

# The architecture rules of the Nano set live with the experiment that fits the shipped profile.
_spec = importlib.util.spec_from_file_location("nano", os.path.join(os.path.dirname(HERE), "jetson-nano-icas", "run.py"))
nano = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(nano)

SIZES = [5, 10, 20, 50]
# prior: the scale set chosen by cross-validation; prior-per-class: always the per-class set.
METHODS = ("prior", "prior-per-class", "scratch")
SEEDS = [1, 2, 3, 4, 5]
PRIOR = os.path.join(joules_experiment.ROOT, "profiles", "jetson-tx2.yaml")
HEADER = ["arch", "family", "group", "gpu_energy_mj"]


def write_rows(path, rows):
    with open(path, "w", newline="") as f:
        out = csv.writer(f, lineterminator="\n")
        out.writerow(HEADER)
        for r in rows:
            out.writerow([f"archs/{r['model_name']}.yaml", r["family"], re.sub(r"_W\d+", "", r["model_name"]),
                          r["gpu_energy_mj"]])


def fit(args, train, test, method):
    """MAPE % on `test` of a fit on `train` (None when the fit is refused), and the chosen model."""
    command = [args.joules, "fit", "--networks", train, "--target", "gpu_energy_mj", "--validate", test,
               "--provenance", os.path.join(HERE, "provenance.yaml"), "--out", os.path.join(args.work, "profile.yaml"),
               "--json"]
    if method != "scratch":
        command += ["--prior", PRIOR]
    if method == "prior-per-class":
        command += ["--scales", "per-class"]
    run = subprocess.run(command, capture_output=True, text=True)
    if run.returncode != 0:
        why = re.search(r"the smallest has (\d+) coefficients", run.stderr)
        return None, f"fewer networks than the {why[1]} coefficients of the smallest model" if why else \
            run.stderr.strip().splitlines()[-1]
    out = json.loads(run.stdout)
    chosen = out["fits"][0]
    model = f"scales {chosen['scales']}" if chosen.get("scales") else f"{chosen['family']} g{chosen['granularity']}"
    return out["validation"]["energy"]["mape_pct"], model


def main():
    args = joules_experiment.arguments(__doc__.splitlines()[0], "jetson-nano-icas", "unused.yaml")
    args.work = args.work.replace("jetson-nano-icas", "transfer-fit")
    source = os.path.join(args.data, "networks.csv")
    joules_experiment.require_inputs(args, source)
    os.makedirs(os.path.join(args.work, "archs"), exist_ok=True)
    with open(source, newline="") as f:
        rows = list(csv.DictReader(f))
    for r in rows:
        nano.write_architecture(os.path.join(args.work, "archs", r["model_name"] + ".yaml"), r["model_name"])

    results = {}  # (n, method) -> [(seed, mape, model)]
    for n in SIZES:
        for seed in SEEDS:
            drawn = set(random.Random(seed).sample(range(len(rows)), n))
            train = os.path.join(args.work, "train.csv")
            test = os.path.join(args.work, "test.csv")
            write_rows(train, [rows[i] for i in sorted(drawn)])
            write_rows(test, [r for i, r in enumerate(rows) if i not in drawn])
            for method in METHODS:
                mape, model = fit(args, train, test, method)
                results.setdefault((n, method), []).append((seed, mape, model))
                print(f"n={n} seed={seed} {method}: {mape if mape is not None else 'refused'} ({model})", flush=True)

    load = os.getloadavg()
    lines = ["# Transfer fitting on the Jetson Nano data: results", "",
             "Produced by `experiments/transfer-fit/run.py`; do not edit by hand.", "",
             f"- Data: {len(rows)} networks of ../shared/datasets/jetson-nano-icas (third-party; GPU-rail energy "
             "`gpu_energy_mj`, idle included). For each n and seed, n networks are drawn with Python's "
             "`random.Random(seed).sample`; every other network of the set is the test set.",
             "- Prior: the shipped `profiles/jetson-tx2.yaml` (TX2 GPU, PyTorch eager, per-layer fit of "
             "single conv layers; a rough prior), through `joules fit --prior`. Scratch: `joules fit` on the same rows.",
             "- Figure: MAPE % of the fitted profile's estimates on the networks not drawn (`--validate`); "
             "median over 5 seeds, then each seed's figure and the model cross-validation chose.",
             f"- Load average while it ran: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}.", "",
             "| networks | prior (scales by CV): median MAPE % | prior, per-class scales: median MAPE % | "
             "scratch: median MAPE % |",
             "|---:|---:|---:|---:|"]

    def median(entries):
        values = [m for _, m, _ in entries if m is not None]
        return f"{statistics.median(values):.2f}" if len(values) == len(entries) else "refused" if not values else \
            f"{statistics.median(values):.2f} ({len(entries) - len(values)} refused)"

    def seeds(entries):
        return "; ".join(f"{s}: {m:.2f} ({model})" if m is not None else f"{s}: refused ({model})"
                         for s, m, model in entries)

    for n in SIZES:
        lines.append(f"| {n} | " + " | ".join(median(results[(n, m)]) for m in METHODS) + " |")
    lines += ["", "Per seed (MAPE %, and the model cross-validation chose):", ""]
    for n in SIZES:
        for m in METHODS:
            lines.append(f"- n = {n}, {m}: {seeds(results[(n, m)])}")
    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print(f"wrote {os.path.relpath(os.path.join(HERE, 'results.md'), joules_experiment.ROOT)}")


if __name__ == "__main__":
    main()
