#!/usr/bin/env python3
"""Builds joules' own tabular benchmark: every member of configs/spaces/table.yaml trained once
at three fidelities (1/4, 1/2 and all of the training budget), with `joules search` and
`search.algorithm: exhaustive`.

Each fidelity is one run directory (RUNS/level-0.25, level-0.5, level-1) of a config that
differs from the others only in `training.train_samples` and `name`: the same seed, so every
member trains with the same candidate seed (derived from the seed and the architecture's hash)
at every level. Energy and latency are the Jetson Nano profile's estimates (third-party data:
profiles/jetson-nano.yaml says so), the same at every level.

    experiments/nas-table/build.py [--samples 2000] [--validation 2000] [--runs DIR] [--joules build/joules]
    experiments/nas-table/build.py --continue [--samples 8000] ...

`--continue` builds the prefix table instead (table-continue.csv, table-continue.json): one run
(RUNS/continue) with `search.fidelity: {levels: [0.25, 0.5, 1], promote: 1, continue: true}`,
where every member trains once on all of its samples and is evaluated after a quarter, a half
and all of its steps; a row's train_seconds are that level's own (the training continued from
the level before, plus its evaluation). Its fidelity-1 accuracies must equal table.csv's (the
same training, continued): the merge counts the members where they do.

A run that finished is reused and one that was stopped is resumed (`joules search --resume`),
so the script can be stopped and started again; the wall time of every invocation is added up
in RUNS/build-time.json. At the end the three logs are merged into table.csv beside this script
(one row per member and fidelity), the build time is written to table.json and the
full-fidelity config to config.yaml (bench/search_efficiency's).
"""
import argparse
import csv
import json
import os
import pathlib
import sys

HERE = pathlib.Path(__file__).resolve().parent
ROOT = HERE.parent.parent
sys.path.insert(0, str(HERE.parent))
import search_runs  # noqa: E402  (experiments/search_runs.py)

LEVELS = (0.25, 0.5, 1.0)
COLUMNS = ("member", "hash", "fidelity", "train_samples", "status", "accuracy", "train_seconds",
           "energy_mj", "latency_ms", "extrapolated", "macs", "params")


def level_name(level: float) -> str:
    return f"level-{level:g}"


def config_for(level: float, samples: int, validation: int, population: int, continued: bool = False) -> str:
    space = (ROOT / "configs" / "spaces" / "table.yaml").read_text()
    body = "\n".join("  " + line if line.strip() else line
                     for line in space.splitlines() if not line.lstrip().startswith("#"))
    fidelity = "\n  fidelity: {levels: [0.25, 0.5, 1], promote: 1, continue: true}" if continued else ""
    what, name = ("the prefix table (--continue)", "continue") if continued else (f"the table at fidelity {level:g}",
                                                                                 level_name(level))
    return f"""# experiments/nas-table/build.py: {what}
name: nas-table-{name}
seed: 1
board: jetson-nano
space:
{body}
data:
  kind: fashion-mnist
  validation_size: {validation}
training:
  epochs: 1
  train_samples: {round(samples * level)}
  batch_size: 64
  optimizer: adam
  learning_rate: 0.003
  threads: 1
  time_budget_s: 600
search:
  algorithm: exhaustive
  population: {population}
  jobs: 2
  objectives: [accuracy, energy]{fidelity}
export:
  retrain_epochs: 0
"""


def add_wall_seconds(timing_path: pathlib.Path, key: str, seconds: float) -> None:
    """Adds `seconds` to `key` of the JSON object in `timing_path` (written atomically)."""
    timing = json.loads(timing_path.read_text()) if timing_path.exists() else {}
    timing[key] = timing.get(key, 0.0) + seconds
    tmp = timing_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(timing, indent=1) + "\n")
    os.replace(tmp, timing_path)


def run_level(args, level: float) -> None:
    config = config_for(level, args.samples, args.validation, args.population)
    search_runs.search(args.joules, args.runs / level_name(level), config,
                       on_seconds=lambda s: add_wall_seconds(args.runs / "build-time.json", level_name(level), s))


def table_row(r: dict, level: float, samples: int) -> dict:
    return {
        "member": r["id"], "hash": r["hash"], "fidelity": f"{level:g}", "train_samples": samples,
        "status": r["status"],
        "accuracy": "" if r.get("accuracy") is None else f"{r['accuracy']:.6g}",
        "train_seconds": f"{r.get('train_seconds') or 0:.4g}",
        "energy_mj": f"{r['energy_mj']:.6g}", "latency_ms": f"{r['latency_ms']:.6g}",
        "extrapolated": "true" if r.get("extrapolated") else "false",
        "macs": r["macs"], "params": r["params"],
    }


def write_csv(path: pathlib.Path, rows) -> None:
    tmp = path.with_suffix(".csv.tmp")
    with open(tmp, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(tmp, path)


def build_continued(args) -> None:
    """The prefix table: one exhaustive run with every member evaluated at every level."""
    out = args.runs / "continue"
    timing_path = args.runs / "build-time-continue.json"
    if not args.merge_only:
        search_runs.search(args.joules, out, config_for(1.0, args.samples, args.validation, args.population, True),
                           on_seconds=lambda s: add_wall_seconds(timing_path, "wall_seconds", s))
    config_text = (out / "config.yaml").read_text()
    samples = config_value(config_text, "train_samples")
    rungs = {}
    with open(out / "rungs.jsonl") as f:
        for line in f:
            r = json.loads(line)
            rungs[(r["hash"], r["fidelity"])] = r
    members = sorted(search_runs.evaluations(out), key=lambda r: r["id"])
    rows = [table_row(rungs[(m["hash"], level)], level, samples) for m in members for level in LEVELS]
    write_csv(HERE / "table-continue.csv", rows)
    # The same trainings as table.csv's fidelity 1, continued: equal accuracies, member by member.
    same = compared = 0
    if (HERE / "table.csv").exists():
        with open(HERE / "table.csv") as f:
            whole = {r["hash"]: r["accuracy"] for r in csv.DictReader(f) if r["fidelity"] == "1"}
        for row in rows:
            if row["fidelity"] == "1" and row["hash"] in whole:
                compared += 1
                same += row["accuracy"] == whole[row["hash"]]
    train_seconds = {f"{l:g}": round(sum(float(r["train_seconds"]) for r in rows if r["fidelity"] == f"{l:g}"), 1)
                     for l in LEVELS}
    summary = {
        "space": "configs/spaces/table.yaml", "members": len(members), "data": "fashion-mnist",
        "train_samples": samples, "validation_size": config_value(config_text, "validation_size"), "epochs": 1,
        "levels": "shares of the steps of one training (search.fidelity continue: true)",
        "jobs": 2, "threads_per_job": 1, "board": "jetson-nano (third-party profile, see its provenance)",
        "wall_seconds_total": round(json.loads(timing_path.read_text())["wall_seconds"], 1),
        "train_seconds_per_level": train_seconds,
        "fidelity_1_accuracy_equal_to_table_csv": f"{same} of {compared}",
        "cpu": os.uname().machine, "cores": os.cpu_count(),
    }
    (HERE / "table-continue.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"table-continue.csv: {len(rows)} rows ({len(members)} members x {len(LEVELS)} levels); "
          f"fidelity-1 accuracy equal to table.csv's for {same} of {compared}", flush=True)


def config_value(config_text: str, key: str) -> int:
    """An integer key of a run's resolved config.yaml (each of these keys appears once)."""
    return next(int(line.split(":")[1]) for line in config_text.splitlines() if line.strip().startswith(key + ":"))


def merge(args) -> None:
    """Merges the three runs into table.csv, table.json and config.yaml; the settings written
    are the runs' own (their config.yaml), not this invocation's options."""
    rows = []
    members = None
    for level in LEVELS:
        out = args.runs / level_name(level)
        config_text = (out / "config.yaml").read_text()
        samples = config_value(config_text, "train_samples")
        records = sorted(search_runs.evaluations(out), key=lambda r: r["id"])
        hashes = [r["hash"] for r in records]
        if members is None:
            members = hashes
        elif hashes != members:
            sys.exit(f"build.py: {out}: its members differ from {level_name(LEVELS[0])}'s")
        rows += [table_row(r, level, samples) for r in records]
    # `samples` and `config_text` are the last level's: fidelity 1.
    validation, population = config_value(config_text, "validation_size"), config_value(config_text, "population")
    write_csv(HERE / "table.csv", rows)
    timing = json.loads((args.runs / "build-time.json").read_text())
    train_seconds = {level_name(l): round(sum(float(r["train_seconds"]) for r in rows if r["fidelity"] == f"{l:g}"), 1)
                     for l in LEVELS}
    summary = {
        "space": "configs/spaces/table.yaml", "members": len(members), "data": "fashion-mnist",
        "train_samples": samples, "validation_size": validation, "epochs": 1,
        "jobs": 2, "threads_per_job": 1, "board": "jetson-nano (third-party profile, see its provenance)",
        "wall_seconds": {k: round(v, 1) for k, v in timing.items()},
        "wall_seconds_total": round(sum(timing.values()), 1),
        "train_seconds": train_seconds,
        "extrapolated_members": sum(1 for r in rows if r["fidelity"] == "1" and r["extrapolated"] == "true"),
        "cpu": os.uname().machine, "cores": os.cpu_count(),
    }
    (HERE / "table.json").write_text(json.dumps(summary, indent=1) + "\n")
    # The full-fidelity config, which bench/search_efficiency replays the strategies under.
    (HERE / "config.yaml").write_text(config_for(1.0, samples, validation, population))
    print(f"table.csv: {len(rows)} rows ({len(members)} members x {len(LEVELS)} fidelities); "
          f"built in {summary['wall_seconds_total'] / 60:.1f} min", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=2000, help="train_samples at fidelity 1")
    parser.add_argument("--validation", type=int, default=2000, help="data.validation_size")
    parser.add_argument("--population", type=int, default=48, help="members per checkpointed batch")
    parser.add_argument("--runs", type=pathlib.Path, default=ROOT / "runs" / "nas-table")
    parser.add_argument("--joules", type=pathlib.Path, default=ROOT / "build" / "joules")
    parser.add_argument("--merge-only", action="store_true", help="only merge the finished runs")
    parser.add_argument("--continue", dest="continued", action="store_true",
                        help="build the prefix table (table-continue.csv) instead")
    args = parser.parse_args()
    args.runs.mkdir(parents=True, exist_ok=True)
    if args.continued:
        build_continued(args)
        return
    if not args.merge_only:
        for level in LEVELS:
            run_level(args, level)
    merge(args)


if __name__ == "__main__":
    main()
