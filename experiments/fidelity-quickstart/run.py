#!/usr/bin/env python3
"""The quickstart search with and without `search.fidelity` (successive halving), real
trainings, a few seeds: the hypervolume each reaches and the training seconds it spends.

Every run is `joules search` on configs/quickstart.yaml with only `seed`, `name` and (for the
fidelity runs) a `search.fidelity` block changed. The fronts are compared by `joules compare`
(hypervolume of each (accuracy, energy) front up to one reference point for all runs; a
fidelity run's front holds each candidate at the accuracy of the highest level it reached).
Training seconds are the `train_seconds` of every logged evaluation (a fidelity run's sum every
level a candidate was trained at).

    experiments/fidelity-quickstart/run.py [--seeds 1 2 3] [--levels 0.25 0.5 1] [--promote 0.3]
                                           [--runs DIR] [--joules build/joules]

Writes results.md beside this script. Finished runs are reused and interrupted ones resumed.
"""
import argparse
import json
import pathlib
import re
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
import search_runs  # noqa: E402  (experiments/search_runs.py)


def config_for(seed: int, kind: str, levels, promote: float) -> str:
    text = (ROOT / "configs" / "quickstart.yaml").read_text()
    text, n_seed = re.subn(r"(?m)^seed: \d+", f"seed: {seed}", text)
    text, n_name = re.subn(r"(?m)^name: \S+", f"name: {kind}-seed{seed}", text)
    n_alg = len(re.findall(r"(?m)^  algorithm: \w+", text))
    if (n_seed, n_name, n_alg) != (1, 1, 1):
        sys.exit("run.py: configs/quickstart.yaml no longer has the keys this script edits")
    if kind == "fidelity":
        levels_text = ", ".join(f"{level:g}" for level in levels)
        text = re.sub(r"(?m)^(  algorithm: \w+.*)$",
                      rf"\1\n  fidelity: {{levels: [{levels_text}], promote: {promote:g}}}", text)
    return text


def train_seconds(out: pathlib.Path) -> float:
    return sum(r.get("train_seconds") or 0 for r in search_runs.evaluations(out))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--levels", type=float, nargs="+", default=[0.25, 0.5, 1.0])
    parser.add_argument("--promote", type=float, default=0.3)
    parser.add_argument("--runs", type=pathlib.Path, default=ROOT / "runs" / "fidelity-quickstart")
    parser.add_argument("--joules", type=pathlib.Path, default=ROOT / "build" / "joules")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)

    kinds = ("full", "fidelity")
    dirs = {(kind, seed): search_runs.search(args.joules, args.runs / f"{kind}-seed{seed}",
                                             config_for(seed, kind, args.levels, args.promote))
            for seed in args.seeds for kind in kinds}
    order = [dirs[(kind, seed)] for seed in args.seeds for kind in kinds]
    compare = subprocess.run([str(args.joules), "compare", *map(str, order), "--json"],
                             check=True, capture_output=True, text=True)
    result = json.loads(compare.stdout)
    by_dir = {pathlib.Path(r["run"]).name: r for r in result["runs"]}
    reference = result["reference"]
    levels_text = ", ".join(f"{level:g}" for level in args.levels)

    lines = [
        "# The quickstart with and without search.fidelity",
        "",
        "Produced by `experiments/fidelity-quickstart/run.py`: `joules search` on configs/quickstart.yaml",
        "(Fashion-MNIST, Jetson Nano profile, 12 candidates x 6 generations, 20,000 training samples x",
        f"2 epochs each), as it is (full) and with `search.fidelity: {{levels: [{levels_text}], "
        f"promote: {args.promote:g}}}`, seeds " + ", ".join(map(str, args.seeds)) + ".",
        "Hypervolume of each (validation accuracy, energy) front, minimising (1 - accuracy, energy_mj), up to",
        f"the common reference point ({reference[0]:g}, {reference[1]:.6g} mJ) (`joules compare`); training",
        "seconds summed over the log (every level of a fidelity run's candidates).",
        "",
        "| seed | full HV | fidelity HV | HV ratio | full train s | fidelity train s | seconds ratio |",
        "|---|---|---|---|---|---|---|",
    ]
    hv_ratios, second_ratios = [], []
    for seed in args.seeds:
        full, fid = by_dir[f"full-seed{seed}"], by_dir[f"fidelity-seed{seed}"]
        full_s, fid_s = train_seconds(dirs[("full", seed)]), train_seconds(dirs[("fidelity", seed)])
        hv_ratios.append(fid["hypervolume"] / full["hypervolume"])
        second_ratios.append(fid_s / full_s)
        lines.append(f"| {seed} | {full['hypervolume']:.5f} | {fid['hypervolume']:.5f} | {hv_ratios[-1]:.4f} | "
                     f"{full_s:.0f} | {fid_s:.0f} | {second_ratios[-1]:.3f} |")
    lines += ["", f"Median of the per-seed ratios: hypervolume {statistics.median(hv_ratios):.4f}, "
              f"training seconds {statistics.median(second_ratios):.3f} (goal: hypervolume within 1% at "
              "<= 60% of the seconds)."]
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
