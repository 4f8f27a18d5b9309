#!/usr/bin/env python3
"""Step-aware against uniform filter pruning, at equal estimated energy, on the TX2 profile
(conv steps of 16 filters) and the Nano's (64).

What it runs (all with the joules binary, one thread):
1. `joules space sample configs/quickstart.yaml --count 40 --seed 1`: architectures of the
   quickstart space; the two within the quickstart budgets (2.2 mJ on the Nano, 200k params)
   with the most MACs (--archs N: the first N of them) stand in for a quickstart front's accurate members (a front itself
   takes a search of about 10 minutes on 2 cores; see results.md).
2. `joules train` each briefly (1 epoch of 12,000 samples, Adam 0.002, validation 2,000).
3. For each board, keep fraction (0.75, 0.5), method (step-aware, --baseline uniform) and
   fine-tuning seed (0, 1, 2): `joules prune --keep F --fine-tune-epochs 1 --train-samples
   3000`. With --keep, uniform keeps F of every layer's filters and step-aware pruning prunes
   to that network's estimated energy, so both compare at equal (step-aware: at most equal)
   energy after the same fine-tuning.
Writes results.md and accuracy-energy.svg beside this script; the work files go to
build/experiments/step-aware-pruning (not committed). Runs already done are reused.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
BOARDS = ["jetson-tx2", "jetson-nano"]
KEEPS = [0.75, 0.5]
SEEDS = [0, 1, 2]
METHODS = ["step-aware", "uniform"]


def run(args, capture=True):
    r = subprocess.run(args, capture_output=capture, text=True)
    if r.returncode != 0:
        sys.exit(f"error: {' '.join(args)} exited {r.returncode}: {r.stderr.strip()}")
    return r.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--joules", default=os.path.join(ROOT, "build", "joules"))
    parser.add_argument("--work", default=os.path.join(ROOT, "build", "experiments", "step-aware-pruning"))
    parser.add_argument("--archs", type=int, default=2, help="how many of the sampled architectures (2)")
    args = parser.parse_args()
    j = args.joules
    os.makedirs(args.work, exist_ok=True)
    started = time.time()
    load_before = os.getloadavg()

    sample = os.path.join(args.work, "sample")
    if not os.path.isdir(sample):
        run([j, "space", "sample", os.path.join(ROOT, "configs", "quickstart.yaml"), "--count", "40", "--seed", "1",
             "--out", sample])
    candidates = []
    for name in sorted(os.listdir(sample)):
        path = os.path.join(sample, name)
        e = json.loads(run([j, "estimate", path, "--board", "jetson-nano", "--json"]))
        convs = [l for l in e["layers"] if l["type"] == "conv"]
        if e["energy_mj"] <= 2.2 and e["params"] <= 200000 and len(convs) >= 2:
            candidates.append((e["macs"], path))
    candidates.sort(reverse=True)
    archs = [p for _, p in candidates[:args.archs]]

    config = os.path.join(args.work, "data.yaml")
    with open(config, "w") as f:
        f.write("data: {kind: fashion-mnist, validation_size: 2000}\ntraining: {batch_size: 64}\n")
    rows = []
    for arch in archs:
        stem = os.path.splitext(os.path.basename(arch))[0]
        weights = os.path.join(args.work, stem + ".pt")
        if not os.path.exists(weights):
            run([j, "train", arch, "--config", config, "--epochs", "1", "--train-samples", "12000", "--optimizer",
                 "adam", "--lr", "0.002", "--threads", "1", "--no-test", "--save", weights])
        for board in BOARDS:
            for keep in KEEPS:
                for method in METHODS:
                    for seed in SEEDS:
                        out = os.path.join(args.work, f"{stem}-{board}-{keep}-{method}-{seed}")
                        table = os.path.join(out, ("uniform" if method == "uniform" else "pruned") + ".json")
                        if not os.path.exists(table):
                            extra = ["--baseline", "uniform"] if method == "uniform" else []
                            run([j, "prune", arch, "--weights", weights, "--board", board, "--keep", str(keep),
                                 *extra, "--fine-tune-epochs", "1", "--train-samples", "3000", "--config", config,
                                 "--seed", str(seed), "--threads", "1", "--out", out, "--json"])
                        with open(table) as f:
                            rows.append({"arch": stem, "board": board, "keep": keep, "method": method, "seed": seed,
                                         **json.load(f)})
    elapsed = time.time() - started
    write_results(args, archs, rows, elapsed, load_before, os.getloadavg())


def describe(arch):
    with open(arch) as f:
        return " ".join(line.strip() for line in f if line.strip().startswith("- "))


def write_results(args, archs, rows, elapsed, load_before, load_after):
    groups = {}
    for r in rows:
        groups.setdefault((r["arch"], r["board"], r["keep"], r["method"]), []).append(r)
    lines = ["# Step-aware against uniform filter pruning", "",
             "Produced by `python3 experiments/step-aware-pruning/run.py` (see its docstring for every command).",
             f"Wall time {elapsed:.0f} s (runs reused from earlier invocations count 0); load average "
             f"{load_before[0]:.1f} before, {load_after[0]:.1f} after (2 cores shared with other jobs).", "",
             f"Architectures (drawn from the quickstart space, `joules space sample --count 40 --seed 1`: of those "
             f"within the quickstart budgets, the {len(archs)} with the most MACs):", ""]
    for a in archs:
        lines.append(f"- `{os.path.splitext(os.path.basename(a))[0]}`: {describe(a)}")
    lines += ["", "Accuracy: validation split (2,000 Fashion-MNIST training images held out), mean of fine-tuning "
              "seeds 0, 1, 2 (min..max). Both methods: 1 fine-tuning epoch of 3,000 samples, SGD 0.01 cosine. "
              "`within step`: filters removed that lowered no step of their layer's MAC term, and the energy they "
              "still saved.", "",
              "| arch | board (g) | keep | method | energy mJ (before -> after) | filters (removed, within step) "
              "| within-step saving mJ | acc before | acc cut | acc after fine-tune |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    plot_lines = []
    for (arch, board, keep, method), rs in groups.items():
        accs = [r["accuracy_after"] for r in rs]
        r0 = rs[0]
        mean = statistics.mean(accs)
        lines.append(
            f"| {arch} | {board} ({r0['granularity']}) | {keep} | {method} | "
            f"{r0['energy_before_mj']:.3f} -> {r0['energy_after_mj']:.3f} | "
            f"{r0['filters_removed']}, {r0['filters_removed_within_step']} | {r0['within_step_saved_mj']:.4f} | "
            f"{100 * r0['accuracy_before']:.2f}% | {100 * r0['accuracy_pruned']:.2f}% | "
            f"{100 * mean:.2f}% ({100 * min(accs):.2f}..{100 * max(accs):.2f}) |")
        plot_lines.append(f"{arch}@{board} {method} {r0['energy_after_mj']} {mean}\n")
    lines += ["", "Per-layer filter counts (before -> after):", ""]
    for (arch, board, keep, method), rs in groups.items():
        counts = ", ".join(f"{l['filters_before']}->{l['filters_after']}" for l in rs[0]["layers"] if "filters_before" in l)
        lines.append(f"- {arch}, {board}, keep {keep}, {method}: {counts}")
    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    plotter = os.path.join(args.work, "plot")
    subprocess.run(["g++", "-O1", "-std=c++20", "-I", ROOT, os.path.join(HERE, "plot.cpp"),
                    os.path.join(ROOT, "util", "svg_plot.cpp"), "-lfmt", "-o", plotter], check=True)
    svg = subprocess.run([plotter], input="".join(plot_lines), capture_output=True, text=True, check=True).stdout
    with open(os.path.join(HERE, "accuracy-energy.svg"), "w") as f:
        f.write(svg)
    print("wrote results.md and accuracy-energy.svg")


if __name__ == "__main__":
    main()
