#!/usr/bin/env python3
"""NSGA-II against random search on the quickstart setting, 10 seeds.

Every run is `joules search` on configs/quickstart.yaml with only `seed` and `search.algorithm`
changed, so both algorithms get the same number of candidates (population x (generations + 1)),
the same trainings and the same energy model. Each front's hypervolume in (1 - accuracy,
energy_mj) is taken up to `joules compare`'s common reference point (error 1, the largest
energy of any trained candidate of all runs) and normalised by the hypervolume of the union
front of all runs (the best front any of them found): 1 would mean a run found all of it. The
medians come with 95% bootstrap confidence intervals (10,000 resamples of the seeds, seeded),
and so does the median of the per-seed ratios NSGA-II / random (paired by seed).

    experiments/search-vs-random/run.py [--seeds 1 2 ... 10] [--runs DIR] [--joules build/joules]

Writes results.md and fronts.svg beside this script. Runs that finished are reused (a run
interrupted is resumed), so the script can be stopped and started again.
"""
import argparse
import json
import pathlib
import random
import re
import statistics
import subprocess
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
import search_runs  # noqa: E402  (experiments/search_runs.py)

ALGORITHMS = ("nsga2", "random")


def config_for(seed: int, algorithm: str) -> str:
    text = (ROOT / "configs" / "quickstart.yaml").read_text()
    text, n_seed = re.subn(r"(?m)^seed: \d+", f"seed: {seed}", text)
    text, n_alg = re.subn(r"(?m)^  algorithm: \w+", f"  algorithm: {algorithm}", text)
    text, n_name = re.subn(r"(?m)^name: \S+", f"name: {algorithm}-seed{seed}", text)
    if (n_seed, n_alg, n_name) != (1, 1, 1):
        sys.exit("run.py: configs/quickstart.yaml no longer has the keys this script edits")
    return text


def trained_points(out: pathlib.Path):
    """(error, energy_mj) of every trained candidate of a run."""
    return [(1.0 - r["accuracy"], r["energy_mj"]) for r in search_runs.evaluations(out)
            if r["status"] == "ok" and r.get("accuracy") is not None]


def hypervolume(points, reference) -> float:
    """2-D hypervolume (minimisation) of `points` up to `reference`: sort by the first
    objective and sweep."""
    volume, best_second = 0.0, reference[1]
    for first, second in sorted(p for p in points if p[0] < reference[0] and p[1] < reference[1]):
        if second < best_second:
            volume += (reference[0] - first) * (best_second - second)
            best_second = second
    return volume


def bootstrap_median_ci(values, resamples=10000, seed=1):
    """95% percentile bootstrap interval of the median of `values`."""
    rng = random.Random(seed)
    medians = sorted(statistics.median(rng.choices(values, k=len(values))) for _ in range(resamples))
    return medians[int(0.025 * resamples)], medians[int(0.975 * resamples) - 1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=list(range(1, 11)))
    parser.add_argument("--runs", type=pathlib.Path, default=ROOT / "runs" / "search-vs-random")
    parser.add_argument("--joules", type=pathlib.Path, default=ROOT / "build" / "joules")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)

    dirs = {(alg, seed): search_runs.search(args.joules, args.runs / f"{alg}-seed{seed}", config_for(seed, alg))
            for seed in args.seeds for alg in ALGORITHMS}
    order = [dirs[(alg, seed)] for seed in args.seeds for alg in ALGORITHMS]
    compare = subprocess.run([str(args.joules), "compare", *map(str, order), "--json",
                              "--svg", str(HERE / "fronts.svg")],
                             check=True, capture_output=True, text=True)
    result = json.loads(compare.stdout)
    by_dir = {pathlib.Path(r["run"]).name: r for r in result["runs"]}
    reference = result["reference"]
    union = [p for out in order for p in trained_points(out)]
    union_hv = hypervolume(union, reference)
    normalised = {(alg, seed): hypervolume(trained_points(dirs[(alg, seed)]), reference) / union_hv
                  for seed in args.seeds for alg in ALGORITHMS}

    lines = [
        "# NSGA-II against random search (quickstart setting)",
        "",
        "Produced by `experiments/search-vs-random/run.py`: `joules search` on configs/quickstart.yaml",
        "(Fashion-MNIST, Jetson Nano profile, 12 candidates x 6 generations, 20,000 training samples x",
        "2 epochs each) with `search.algorithm` nsga2 or random and seeds " + ", ".join(map(str, args.seeds)) + ".",
        "Hypervolume of each (validation accuracy, energy) front, minimising (1 - accuracy, energy_mj), up to",
        f"the common reference point ({reference[0]:g}, {reference[1]:.6g} mJ) (`joules compare`), and as a share",
        f"of the union front of all {len(order)} runs (hypervolume {union_hv:.5f}).",
        "",
        "| seed | NSGA-II HV | random HV | NSGA-II share | random share | ratio | NSGA-II trained | random trained |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for seed in args.seeds:
        n, r = by_dir[f"nsga2-seed{seed}"], by_dir[f"random-seed{seed}"]
        ratio = normalised[("nsga2", seed)] / normalised[("random", seed)]
        ratios.append(ratio)
        lines.append(f"| {seed} | {n['hypervolume']:.5f} | {r['hypervolume']:.5f} | {normalised[('nsga2', seed)]:.4f} | "
                     f"{normalised[('random', seed)]:.4f} | {ratio:.4f} | {n['trained']} | {r['trained']} |")
    summary = []
    for alg, label in (("nsga2", "NSGA-II"), ("random", "random")):
        values = [normalised[(alg, s)] for s in args.seeds]
        low, high = bootstrap_median_ci(values)
        summary.append(f"{label} {statistics.median(values):.4f} [{low:.4f}, {high:.4f}]")
    low, high = bootstrap_median_ci(ratios)
    wins = sum(1 for x in ratios if x > 1)
    lines += ["", "Median share of the union front's hypervolume, 95% bootstrap interval: " + "; ".join(summary) + ".",
              f"Median of the per-seed ratios NSGA-II / random: {statistics.median(ratios):.4f} "
              f"[{low:.4f}, {high:.4f}]; NSGA-II ahead on {wins} of {len(ratios)} seeds.", "",
              f"`fronts.svg` plots the {len(order)} fronts."]
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
