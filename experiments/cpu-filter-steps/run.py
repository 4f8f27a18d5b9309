#!/usr/bin/env python3
"""Profiles this machine's CPU at steps of one filter and fits the steps (experiments/cpu-filter-steps).

Runs `joules profile` on configs/profiling/cpu-filter-steps.yaml (four sweeps: a 3x3 conv that
LibTorch sends to oneDNN, a 3x3 conv and a 1x1 conv that it computes with im2col + BLAS, and
an fc layer), with the best power sensor found here (`--sensor auto`), then `joules fit` on each
sweep alone (stairs against linear, granularities 1 to 64) and on all of them together.

    experiments/cpu-filter-steps/run.py [--joules BIN] [--work DIR] [--smoke]

Writes beside this script: measurements.csv and provenance.yaml (copied from the run),
results.md (tables produced here), latency.svg and energy.svg (all sweeps, with the fit of
all of them) and thread-cpu-SWEEP.svg (each conv sweep's thread CPU time with its own fit),
drawn by joules, and fit-report.md and profile.yaml (the fit of all sweeps). The
profiling run is resumable: run the script again after an interruption and it measures only
what is missing. About 3 minutes. Standard library only; the measuring and fitting are joules'.
"""

import argparse
import csv
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
GRID = os.path.join(ROOT, "configs", "profiling", "cpu-filter-steps.yaml")
BOARD = "cpu-filter-steps"
GRANULARITIES = ["1", "2", "4", "8", "16", "32", "64"]
TIMES = {"latency_ms": "wall-clock latency", "thread_cpu_ms": "thread CPU time"}
# The protocol: windows of 0.1 s (a few to thousands of inferences), 5 per point.
PROTOCOL = ["--device", "cpu", "--min-window-s", "0.1", "--repeats", "5", "--cooldown-s", "0.01", "--warmup-s", "0.05", "--threads", "1"]
SMOKE = ["--device", "cpu", "--min-window-s", "0.002", "--repeats", "2", "--cooldown-s", "0", "--warmup-s", "0"]


def width(row):
    return int(row["filters"] or row["units"])


def run(command):
    """Runs a command from the repository root (so that recorded paths are relative to it)."""
    print("$ " + " ".join(os.path.relpath(c, ROOT) if c.startswith(ROOT) else c for c in command), flush=True)
    subprocess.run(command, check=True, cwd=ROOT)


def candidates(profile_path, quantity):
    """(family, granularity) -> cross-validated MAPE of the `quantity` section's candidates."""
    out = {}
    section = None
    with open(profile_path) as f:
        for line in f:
            if re.match(r"^(energy|latency):", line):
                section = line.split(":")[0]
            m = re.search(r"- \{family: (\w+), granularity: (\d+), chosen: (\w+), cv: \{points: \d+, mape_pct: ([0-9.e+-]+)",
                          line)
            if m and section == quantity:
                out[(m.group(1), int(m.group(2)))] = (float(m.group(4)), m.group(3) == "true")
    return out


def step_ratios(rows, g, column):
    """Mean ratio of `column` across the boundaries F = kg -> kg + 1, and the median ratio of all
    other steps of one filter: a granularity g shows as boundary ratios well above the rest."""
    latency = {width(r): float(r[column]) for r in rows}
    at, elsewhere = [], []
    for f in sorted(latency):
        if f + 1 not in latency:
            continue
        (at if f % g == 0 else elsewhere).append(latency[f + 1] / latency[f])
    return (statistics.mean(at) if at else float("nan")), (statistics.median(elsewhere) if elsewhere else float("nan"))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--joules", default=os.path.join(ROOT, "build", "joules"), help="the joules binary")
    parser.add_argument("--work", default=os.path.join(ROOT, "build", "experiments", "cpu-filter-steps"),
                        help="where the profiling run and the per-sweep fits go (not committed)")
    parser.add_argument("--smoke", action="store_true",
                        help="tiny windows, results in --work only (checks that the script runs)")
    args = parser.parse_args()
    if not os.access(args.joules, os.X_OK):
        sys.exit(f"error: {args.joules} not found: build joules first (scripts/setup.sh)")
    out = os.path.join(args.work, "results") if args.smoke else HERE
    os.makedirs(out, exist_ok=True)
    run_dir = os.path.join(args.work, "smoke-run" if args.smoke else "run")

    # 1. Profile (resumable).
    run([args.joules, "profile", "--board", BOARD, "--grid", os.path.relpath(GRID, ROOT), "--sensor", "auto", "--out", run_dir,
         *(SMOKE if args.smoke else PROTOCOL)])
    measurements = os.path.join(out, "measurements.csv")
    provenance = os.path.join(out, "provenance.yaml")
    if not args.smoke:
        shutil.copyfile(os.path.join(run_dir, "measurements.csv"), measurements)
        shutil.copyfile(os.path.join(run_dir, "provenance.yaml"), provenance)
    else:
        measurements = os.path.join(run_dir, "measurements.csv")
        provenance = os.path.join(run_dir, "provenance.yaml")
    with open(measurements, newline="") as f:
        rows = list(csv.DictReader(f))
    with open(provenance) as f:
        prov = f.read()
    sensor = re.search(r"^  sensor: (.*)$", prov, re.M).group(1).strip('"')
    device = re.search(r"^  device: (.*)$", prov, re.M).group(1).strip('"')
    software = re.search(r"^  software: (.*)$", prov, re.M).group(1).strip('"')
    estimate = "estimate: true" in prov

    # 2. Fit each sweep alone, stairs against linear, on the wall-clock latency and on the
    #    thread's CPU time (what the latency would be without the machine's other work).
    # The sweeps in the grid's order (rows are in the measuring order, which is shuffled).
    with open(GRID) as f:
        families = [m.group(1) for m in re.finditer(r"^\s+- name: (\S+)", f.read(), re.M)]
    families = [f for f in families if any(r["family"] == f for r in rows)]
    fits = {column: {} for column in TIMES}
    for family in families:
        if not any(r["family"] == family and r["layer"] == "conv" for r in rows):
            continue  # a profile needs a conv model: the fc sweep is fitted with the others only
        sweep = os.path.join(args.work, f"{family}.csv")
        with open(sweep, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()), lineterminator="\n")
            writer.writeheader()
            writer.writerows(r for r in rows if r["family"] == family)
        for column in TIMES:
            profile = os.path.join(args.work, f"{family}-{column}.yaml")
            plot = ["--sweep-latency-plot", os.path.join(out, f"thread-cpu-{family}.svg")] if column == "thread_cpu_ms" else []
            run([args.joules, "fit", "--layers", sweep, "--latency", column, "--provenance", provenance, "--out",
                 profile, "--model", "linear", "--model", "stairs", "--granularity", *GRANULARITIES, *plot])
            fits[column][family] = candidates(profile, "latency")

    # 3. Fit all sweeps together: the profile (wall-clock latency), its report and the plots.
    report = os.path.join(out, "fit-report.md")
    run([args.joules, "fit", "--layers", measurements, "--provenance", provenance, "--out",
         os.path.join(out, "profile.yaml"), "--granularity", *GRANULARITIES, "--report", report,
         "--sweep-plot", os.path.join(out, "energy.svg"), "--sweep-latency-plot", os.path.join(out, "latency.svg")])

    # 4. The tables.
    contended = sum(1 for r in rows if float(r["thread_cpu_ms"]) < 0.9 * float(r["latency_ms"]))
    lines = ["# CPU filter steps: results", "",
             "Produced by `experiments/cpu-filter-steps/run.py`; do not edit by hand. How to read them: README.md.", "",
             f"- Device: {device}. Software: {software}.",
             f"- Sensor: {sensor}."]
    if estimate:
        lines.append("- **Energy is an ESTIMATE** (measured time x a configured power): no power sensor is readable "
                     "here, so this is a latency study; energy.svg is latency.svg scaled.")
    lines += [f"- {len(rows)} layer configurations, batch 1, protocol: see `provenance.yaml` (notes).",
              f"- Machine shared with other work: for {contended} of {len(rows)} configurations the thread's CPU time "
              "was under 90% of the wall-clock latency (the thread waited for a core). Both are reported; the thread "
              "CPU time shows the kernels' own cost.", "",
              "## Latency against the filter count", "",
              "Per sweep, at a few filter counts: wall-clock latency (mean over the kept windows) / the thread's CPU "
              "time per inference, in ms.", "",
              "| sweep | points | filters: latency / thread CPU ms |", "|---|---:|---|"]
    for family in families:
        sweep = sorted((r for r in rows if r["family"] == family), key=width)
        by_width = {width(r): r for r in sweep}
        shown = [f for f in (1, 8, 15, 16, 17, 31, 32, 33, 48, 49, 64, 65, 96) if f in by_width]
        cells = ", ".join(f"{f}: {float(by_width[f]['latency_ms']):.3g} / {float(by_width[f]['thread_cpu_ms']):.3g}"
                          for f in shown)
        lines.append(f"| {family} | {len(sweep)} | {cells} |")
    lines += ["", "## Fitted granularity", "",
              "`joules fit` on each sweep alone, among linear and stairs with granularities "
              f"{', '.join(GRANULARITIES)}: the stairs granularity with the lowest cross-validated MAPE, that MAPE, and "
              "the linear model's. The fc sweep has no fit of its own (a profile needs a conv model).", "",
              "| sweep | " + " | ".join(f"{TIMES[c]}: {h}" for c in TIMES for h in ("granularity", "stairs MAPE %",
                                                                                    "linear MAPE %")) + " |",
              "|---|" + "---:|" * (3 * len(TIMES))]
    for family in families:
        cells = []
        for column in TIMES:
            if family not in fits[column]:
                cells += ["-", "-", "-"]
                continue
            stairs = {g: v for (fam, g), v in fits[column][family].items() if fam == "stairs"}
            best_g = min(stairs, key=lambda g: stairs[g][0])
            linear = fits[column][family].get(("linear", 1), (float("nan"), False))[0]
            cells += [str(best_g), f"{stairs[best_g][0]:.2f}", f"{linear:.2f}"]
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    lines += ["", "## Steps at multiples of g", "",
              "Mean ratio T(kg + 1) / T(kg) across the boundaries of g, against the median ratio T(F + 1) / T(F) of "
              "all other steps of one filter, T the thread's CPU time (wall-clock latency in brackets). A kernel that "
              "computes output channels in blocks of g shows boundary ratios well above the others.", "",
              "| sweep | " + " | ".join(f"g = {g}" for g in (4, 8, 16, 32)) + " |",
              "|---|" + "---:|" * 4]
    for family in families:
        sweep = [r for r in rows if r["family"] == family]
        cells = []
        for g in (4, 8, 16, 32):
            at, elsewhere = step_ratios(sweep, g, "thread_cpu_ms")
            wall_at, wall_elsewhere = step_ratios(sweep, g, "latency_ms")
            cells.append(f"{at:.2f} vs {elsewhere:.2f} ({wall_at:.2f} vs {wall_elsewhere:.2f})")
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    for column in TIMES:
        lines += ["", f"## Stairs granularity candidates ({TIMES[column]}, per sweep)", "",
                  "| sweep | " + " | ".join(f"g = {g}" for g in GRANULARITIES) + " | linear |",
                  "|---|" + "---:|" * (len(GRANULARITIES) + 1)]
        for family in (f for f in families if f in fits[column]):
            cells = []
            for key in [("stairs", int(g)) for g in GRANULARITIES] + [("linear", 1)]:
                mape, chosen = fits[column][family].get(key, (float("nan"), False))
                cells.append(f"**{mape:.2f}**" if chosen else f"{mape:.2f}")
            lines.append(f"| {family} | " + " | ".join(cells) + " |")
    lines += ["", "Cross-validated MAPE %; bold: chosen by `joules fit`. The fit of all sweeps together (one model per "
              "layer kind, wall-clock latency) is in [fit-report.md](fit-report.md) and [profile.yaml](profile.yaml); "
              "plots: [latency.svg](latency.svg) and [energy.svg](energy.svg) (lines: that fit), and per conv sweep "
              "its thread CPU time with its own fit: "
              + ", ".join(f"[thread-cpu-{f}.svg](thread-cpu-{f}.svg)" for f in families if f in fits["thread_cpu_ms"])
              + ".", ""]
    results = os.path.join(out, "results.md")
    with open(results, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {os.path.relpath(results, ROOT)}")


if __name__ == "__main__":
    main()
