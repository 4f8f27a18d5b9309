#!/usr/bin/env python3
"""Reports how well the shipped profiles' uncertainty bands cover networks outside their data.

The calibration itself is joules' (`joules fit --calibrate-extrapolation`, which the profile
experiments run): it refits each profile below the 80th percentile of the rows' MACs and
measures the rows above, and the mirror image (refit above the 20th, measure below), and picks
the smallest band growth per decade outside the ranges that puts 90% of those held-out rows
inside their bands. This script reads what the profiles recorded and writes results.md beside
it. Run the profile experiments first:

    experiments/jetson-nano-icas/run.py
    experiments/jetson-tx2-sysidentif/run.py
    experiments/extrapolation-bands/run.py

Standard library only.
"""

import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
PROFILES = ["jetson-nano", "jetson-tx2"]
CHECK = re.compile(r"- \{direction: (\w+), held_out: (\d+), coverage_before: ([0-9.e-]+), coverage_after: ([0-9.e-]+)\}")


def calibration(path):
    """(growth per decade, [(direction, held out, before, after)]) from a profile's text."""
    with open(path) as f:
        text = f.read()
    if "\nextrapolation:" not in text:
        sys.exit(f"error: {path} has no extrapolation section: rerun its experiment (joules fit --calibrate-extrapolation)")
    section = text.split("\nextrapolation:", 1)[1]
    growth = float(re.search(r"growth_per_decade: ([0-9.e+-]+)", section)[1])
    return growth, [(m[1], int(m[2]), float(m[3]), float(m[4])) for m in CHECK.finditer(section)]


def main():
    lines = ["# Bands outside the data: calibration of the shipped profiles", "",
             "Produced by `experiments/extrapolation-bands/run.py` from the profiles' `extrapolation` sections "
             "(written by `joules fit --calibrate-extrapolation`); do not edit by hand.", "",
             "'Before' is the band as it was (out-of-fold residual quantiles, the same however far outside the data); "
             "'after' is the band that widens by 1 + growth x decades outside the fitted ranges. Nominal coverage 90%; "
             "goal: at least 80% of the held-out networks beyond the range, in both directions.", "",
             "| profile | growth per decade | held out | rows beyond the ranges | covered before | covered after |",
             "|---|---:|---|---:|---:|---:|"]
    for name in PROFILES:
        growth, checks = calibration(os.path.join(ROOT, "profiles", name + ".yaml"))
        for direction, held, before, after in checks:
            lines.append(f"| {name} | {growth:g} | {direction} the split | {held} | {100 * before:.1f}% | {100 * after:.1f}% |")
    with open(os.path.join(HERE, "results.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
