#!/usr/bin/env python3
"""Step-aware against uniform filter pruning, at equal estimated energy, on the TX2 profile
(conv steps of 16 filters) and the Nano's (64).

What it runs (all with the joules binary, one thread per training):
1. `joules search --out WORK/quickstart`: the quickstart search (README's first command: its
   embedded config, Fashion-MNIST, priced on the Nano, about 3 minutes on 2 cores). Its
   Pareto front (`WORK/quickstart/pareto/ID.yaml` + `ID.pt`, trained by the search itself) is
   what gets pruned: every member with a prunable conv layer (--members N: the N most
   accurate of them).
2. For each board, keep fraction (0.75, 0.5), method (step-aware, --baseline uniform) and
   fine-tuning seed (0, 1, 2): `joules prune --keep F --fine-tune-epochs 1 --train-samples
   3000`, validation on the search's 5,000 held-out images. With --keep, uniform keeps F of
   every layer's filters and step-aware pruning prunes to that network's estimated energy, so
   both compare at equal (step-aware: at most equal) energy after the same fine-tuning.
Writes results.md and accuracy-energy.svg beside this script; the work files go to
build/experiments/step-aware-pruning (not committed). Runs already done are reused.
"""

import argparse
import concurrent.futures
import csv
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
    parser.add_argument("--jobs", type=int, default=2, help="prunes run at once, one thread each (2)")
    parser.add_argument("--members", type=int, default=0, help="prune only the N most accurate front members (0: all)")
    args = parser.parse_args()
    j = args.joules
    os.makedirs(args.work, exist_ok=True)
    started = time.time()
    load_before = os.getloadavg()

    run_dir = os.path.join(args.work, "quickstart")
    front = os.path.join(run_dir, "pareto", "front.csv")
    if not os.path.exists(front):
        run([j, "search", "--out", run_dir, *(["--resume"] if os.path.isdir(run_dir) else [])], capture=False)
    with open(front, newline="") as f:
        members = list(csv.DictReader(f))
    candidates = []
    for m in members:
        path = os.path.join(run_dir, "pareto", f"{m['id']}.yaml")
        weights = os.path.join(run_dir, "pareto", f"{m['id']}.pt")
        if not os.path.exists(weights):
            continue
        e = json.loads(run([j, "estimate", path, "--board", "jetson-nano", "--json"]))
        if any(l["type"] == "conv" for l in e["layers"]):
            candidates.append((float(m["accuracy"]), path, weights))
    candidates.sort(reverse=True)
    archs = candidates[:args.members] if args.members else candidates

    config = os.path.join(args.work, "data.yaml")
    with open(config, "w") as f:
        f.write("data: {kind: fashion-mnist, validation_size: 5000}\ntraining: {batch_size: 64}\n")
    jobs, rows = [], []
    for _, arch, weights in archs:
        stem = "member-" + os.path.splitext(os.path.basename(arch))[0]
        for board in BOARDS:
            for keep in KEEPS:
                for method in METHODS:
                    for seed in SEEDS:
                        out = os.path.join(args.work, f"{stem}-{board}-{keep}-{method}-{seed}")
                        table = os.path.join(out, ("uniform" if method == "uniform" else "pruned") + ".json")
                        extra = ["--baseline", "uniform"] if method == "uniform" else []
                        command = [j, "prune", arch, "--weights", weights, "--board", board, "--keep", str(keep),
                                   *extra, "--fine-tune-epochs", "1", "--train-samples", "3000", "--config", config,
                                   "--seed", str(seed), "--threads", "1", "--out", out, "--json"]
                        jobs.append(({"arch": stem, "board": board, "keep": keep, "method": method, "seed": seed},
                                     table, command))
    # One thread per prune, --jobs of them at once.
    def run_all(batch):
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            list(pool.map(lambda job: None if os.path.exists(job[1]) else run(job[2]), batch))
        for key, table, _ in batch:
            with open(table) as f:
                rows.append({**json.load(f), **key})

    run_all(jobs)
    # Where the steps make step-aware pruning end below uniform's energy (a layer inside a step
    # can only drop to the step below), uniform pruned to step-aware's energy is the comparison
    # at equal energy: --baseline uniform --energy-mj E keeps the largest fraction that fits.
    equal = []
    for r in [r for r in rows if r["method"] == "step-aware"]:
        out = os.path.join(args.work, f"{r['arch']}-{r['board']}-{r['keep']}-uniform-equal-{r['seed']}")
        arch = next(a for _, a, _ in archs if "member-" + os.path.splitext(os.path.basename(a))[0] == r["arch"])
        weights = os.path.splitext(arch)[0] + ".pt"
        command = [j, "prune", arch, "--weights", weights, "--board", r["board"], "--baseline", "uniform",
                   "--energy-mj", repr(r["energy_after_mj"]), "--fine-tune-epochs", "1", "--train-samples", "3000",
                   "--config", config, "--seed", str(r["seed"]), "--threads", "1", "--out", out, "--json"]
        equal.append(({"arch": r["arch"], "board": r["board"], "keep": r["keep"], "method": "uniform-equal",
                       "seed": r["seed"]}, os.path.join(out, "uniform.json"), command))
    run_all(equal)
    elapsed = time.time() - started
    write_results(args, [a for _, a, _ in archs], rows, elapsed, load_before, os.getloadavg())


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
             f"Networks: the {len(archs)} members with a prunable conv layer of the Pareto front of the quickstart "
             "search (`joules search`, its embedded config; weights as the search trained them):", ""]
    for a in archs:
        lines.append(f"- `member-{os.path.splitext(os.path.basename(a))[0]}`: {describe(a)}")
    lines += ["", "Accuracy: validation split (the search's 5,000 Fashion-MNIST training images held out), mean of fine-tuning "
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
        if method != "uniform-equal":
            plot_lines.append(f"{arch}@{board} {method} {r0['energy_after_mj']} {mean}\n")
    # The goal's comparison: step-aware against uniform pruned to step-aware's energy.
    mean_of = {k: statistics.mean(r["accuracy_after"] for r in rs) for k, rs in groups.items()}
    pairs = [(k[:3], mean_of[k], mean_of[k[:3] + ("uniform-equal",)], groups[k[:3] + ("uniform-equal",)][0])
             for k in groups if k[3] == "step-aware"]
    different = [p for p in pairs if p[3]["filters_removed"] != groups[p[0] + ("step-aware",)][0]["filters_removed"] or
                 any(a["filters_after"] != b["filters_after"] for a, b in
                     zip(p[3]["layers"], groups[p[0] + ("step-aware",)][0]["layers"]) if "filters_after" in a)]
    at_least = [p for p in pairs if p[1] >= p[2]]
    lines += ["", "## Step-aware against uniform at step-aware's energy", "",
              "`uniform-equal`: `--baseline uniform --energy-mj E` with E the step-aware network's estimated energy "
              "(the largest uniform fraction that fits), so the two compare at equal energy (uniform at most equal) "
              "after the same fine-tuning.", "",
              f"- Step-aware's mean accuracy is at least uniform's in {len(at_least)} of {len(pairs)} comparisons "
              f"({len(different)} in which the two pick different filter counts; in the others, often single-conv "
              "networks, both prune the same filters).",
              "- Where it is below: " + ("; ".join(
                  f"{a} on {b}, keep {k}: {100 * sa:.2f}% vs {100 * u:.2f}% ({100 * (sa - u):+.2f} points)"
                  for (a, b, k), sa, u, _ in pairs if sa < u) or "nowhere") + ".",
              "- Mean difference over the comparisons where the counts differ: " +
              (f"{100 * statistics.mean(sa - u for _, sa, u, _ in different):+.2f} points." if different else "none.")]
    uniform_rows = [rs[0] for k, rs in groups.items() if k[3] == "uniform"]
    lines.append(f"- Filters uniform pruning (keep F) removed that lowered no step of their layer: "
                 f"{sum(r['filters_removed_within_step'] for r in uniform_rows)} of "
                 f"{sum(r['filters_removed'] for r in uniform_rows)} (their energy came from the linear terms and the "
                 "next layers' smaller inputs only).")
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
