#!/usr/bin/env python3
"""NSGA-II against random search on the quickstart setting, 3 seeds.

Every run is `joules search` on configs/quickstart.yaml with only `seed` and `search.algorithm`
changed, so both algorithms get the same number of candidates (population x (generations + 1)),
the same trainings and the same energy model. The fronts are compared by `joules compare`: the
hypervolume of each (accuracy, energy) front up to error 1 and one common energy for all six runs.

    experiments/search-vs-random/run.py [--seeds 1 2 3] [--runs DIR] [--joules build/joules]

Writes results.md and fronts.svg beside this script. Runs that finished are reused (a run
interrupted is resumed), so the script can be stopped and started again.
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


def config_for(seed: int, algorithm: str) -> str:
    text = (ROOT / "configs" / "quickstart.yaml").read_text()
    text, n_seed = re.subn(r"(?m)^seed: \d+", f"seed: {seed}", text)
    text, n_alg = re.subn(r"(?m)^  algorithm: \w+", f"  algorithm: {algorithm}", text)
    text, n_name = re.subn(r"(?m)^name: \S+", f"name: {algorithm}-seed{seed}", text)
    if (n_seed, n_alg, n_name) != (1, 1, 1):
        sys.exit("run.py: configs/quickstart.yaml no longer has the keys this script edits")
    return text


def run_search(joules: pathlib.Path, runs: pathlib.Path, seed: int, algorithm: str) -> pathlib.Path:
    out = runs / f"{algorithm}-seed{seed}"
    checkpoint = out / "checkpoint.json"
    if checkpoint.exists() and json.loads(checkpoint.read_text()).get("finished"):
        print(f"{out.name}: done already", flush=True)
        return out
    if (out / "config.yaml").exists():
        command = [str(joules), "search", "--resume", "--out", str(out)]
    else:
        config = runs / f"{algorithm}-seed{seed}.yaml"
        config.write_text(config_for(seed, algorithm))
        command = [str(joules), "search", str(config), "--out", str(out)]
    print(f"{out.name}: {' '.join(command)}", flush=True)
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--runs", type=pathlib.Path, default=ROOT / "runs" / "search-vs-random")
    parser.add_argument("--joules", type=pathlib.Path, default=ROOT / "build" / "joules")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)

    dirs = {(alg, seed): run_search(args.joules, args.runs, seed, alg)
            for seed in args.seeds for alg in ("nsga2", "random")}
    order = [dirs[(alg, seed)] for seed in args.seeds for alg in ("nsga2", "random")]
    compare = subprocess.run([str(args.joules), "compare", *map(str, order), "--json",
                              "--svg", str(HERE / "fronts.svg")],
                             check=True, capture_output=True, text=True)
    result = json.loads(compare.stdout)
    by_dir = {pathlib.Path(r["run"]).name: r for r in result["runs"]}
    reference = result["reference"]

    lines = [
        "# NSGA-II against random search (quickstart setting)",
        "",
        "Produced by `experiments/search-vs-random/run.py`: `joules search` on configs/quickstart.yaml",
        "(Fashion-MNIST, Jetson Nano profile, 12 candidates x 6 generations, 20,000 training samples x",
        "2 epochs each) with `search.algorithm` nsga2 or random and seeds " + ", ".join(map(str, args.seeds)) + ".",
        f"Hypervolume of each (validation accuracy, energy) front, minimising (1 - accuracy, energy_mj), up to",
        f"the common reference point ({reference[0]:g}, {reference[1]:.6g} mJ) (`joules compare`).",
        "",
        "| seed | NSGA-II HV | random HV | ratio | NSGA-II front | random front | NSGA-II trained | random trained |",
        "|---|---|---|---|---|---|---|---|",
    ]
    ratios = []
    for seed in args.seeds:
        n = by_dir[f"nsga2-seed{seed}"]
        r = by_dir[f"random-seed{seed}"]
        ratio = n["hypervolume"] / r["hypervolume"] if r["hypervolume"] > 0 else float("inf")
        ratios.append(ratio)
        lines.append(f"| {seed} | {n['hypervolume']:.5f} | {r['hypervolume']:.5f} | {ratio:.3f} | "
                     f"{n['front_size']} | {r['front_size']} | {n['trained']} | {r['trained']} |")
    n_med = statistics.median(by_dir[f"nsga2-seed{s}"]["hypervolume"] for s in args.seeds)
    r_med = statistics.median(by_dir[f"random-seed{s}"]["hypervolume"] for s in args.seeds)
    lines += ["", f"Median hypervolume: NSGA-II {n_med:.5f}, random {r_med:.5f}; "
              f"median of the per-seed ratios {statistics.median(ratios):.3f}.", "",
              "`fronts.svg` plots the six fronts."]
    (HERE / "results.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
