#!/usr/bin/env python3
"""The quickstart search with and without `search.fidelity` (successive halving), real
trainings, a few seeds: the hypervolume each reaches and the training seconds it spends.

Every run is `joules search` on configs/quickstart.yaml with only `seed`, `name` and (for the
fidelity runs) a `search.fidelity` block changed. Three kinds per seed: `full` (no fidelity),
`restart` (each level trains from scratch on its share of the training samples) and `continue`
(`continue: true`: each level is a prefix of the whole training, and a promoted candidate
continues from its state at the level before). The fronts are compared by `joules compare`
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
    if kind != "full":
        text = re.sub(r"(?m)^(  algorithm: \w+.*)$", rf"\1\n  fidelity: {fidelity_block(kind, levels, promote)}", text)
    return text


def fidelity_block(kind: str, levels, promote: float) -> str:
    levels_text = ", ".join(f"{level:g}" for level in levels)
    return f"{{levels: [{levels_text}], promote: {promote:g}" + (", continue: true}" if kind == "continue" else "}")


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

    kinds = ("full", "restart", "continue")
    dirs = {(kind, seed): search_runs.search(args.joules, args.runs / f"{kind}-seed{seed}",
                                             config_for(seed, kind, args.levels, args.promote))
            for seed in args.seeds for kind in kinds}
    order = [dirs[(kind, seed)] for seed in args.seeds for kind in kinds]
    compare = subprocess.run([str(args.joules), "compare", *map(str, order), "--json"],
                             check=True, capture_output=True, text=True)
    result = json.loads(compare.stdout)
    by_dir = {pathlib.Path(r["run"]).name: r for r in result["runs"]}
    reference = result["reference"]
    lines = [
        "# The quickstart with and without search.fidelity",
        "",
        "Produced by `experiments/fidelity-quickstart/run.py`: `joules search` on configs/quickstart.yaml",
        "(Fashion-MNIST, Jetson Nano profile, 12 candidates x 6 generations, 20,000 training samples x",
        "2 epochs each), as it is (full), with `search.fidelity: "
        f"{fidelity_block('restart', args.levels, args.promote)}` (restart: each level from scratch on",
        "its share of the samples) and with "
        f"`{fidelity_block('continue', args.levels, args.promote)}` (continue: each level a prefix of",
        "the whole training, resumed from the level before), seeds " + ", ".join(map(str, args.seeds)) + ".",
        "Hypervolume of each (validation accuracy, energy) front, minimising (1 - accuracy, energy_mj), up to",
        f"the common reference point ({reference[0]:g}, {reference[1]:.6g} mJ) (`joules compare`); training",
        "seconds summed over the log (every level of a fidelity run's candidates). Ratios are against full.",
        "",
        "| seed | full HV | restart HV | ratio | continue HV | ratio | full train s | restart s | ratio | continue s | ratio |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    ratios = {(kind, what): [] for kind in kinds[1:] for what in ("hv", "s")}
    for seed in args.seeds:
        full = by_dir[f"full-seed{seed}"]
        full_s = train_seconds(dirs[("full", seed)])
        row_hv, row_s = [f"{full['hypervolume']:.5f}"], [f"{full_s:.0f}"]
        for kind in kinds[1:]:
            hv = by_dir[f"{kind}-seed{seed}"]["hypervolume"]
            s = train_seconds(dirs[(kind, seed)])
            ratios[(kind, "hv")].append(hv / full["hypervolume"])
            ratios[(kind, "s")].append(s / full_s)
            row_hv += [f"{hv:.5f}", f"{ratios[(kind, 'hv')][-1]:.4f}"]
            row_s += [f"{s:.0f}", f"{ratios[(kind, 's')][-1]:.3f}"]
        lines.append(f"| {seed} | " + " | ".join(row_hv + row_s) + " |")
    lines.append("")
    for kind in kinds[1:]:
        lines.append(f"Median of the per-seed ratios, {kind}: hypervolume "
                     f"{statistics.median(ratios[(kind, 'hv')]):.4f}, training seconds "
                     f"{statistics.median(ratios[(kind, 's')]):.3f}.")
    lines += ["", "Goal: hypervolume within 1% at <= 60% of the seconds."]
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
