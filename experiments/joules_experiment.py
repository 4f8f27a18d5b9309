"""Glue shared by the experiments that fit a board profile from third-party data with joules.

Each experiment folder holds its own script (what to convert, how), its provenance file and its
results; this module holds what they do alike: the command line, the checks that the data and
the joules binary are there, and running `joules fit` into a results.md with a header.
"""

import argparse
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def arguments(description, dataset, profile):
    """Parses --data, --joules, --work, --out with defaults for `dataset` and `profile`."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--data", default=os.path.join(ROOT, "..", "shared", "datasets", dataset),
                        help="folder of the third-party data")
    parser.add_argument("--joules", default=os.path.join(ROOT, "build", "joules"), help="the joules binary")
    parser.add_argument("--work", default=os.path.join(ROOT, "build", "experiments", dataset),
                        help="where the converted measurements go (not committed)")
    parser.add_argument("--out", default=os.path.join(ROOT, "profiles", profile), help="the profile to write")
    return parser.parse_args()


def require_inputs(args, source):
    """Exits with a message unless `source` and the joules binary exist; creates the work folder."""
    if not os.path.exists(source):
        sys.exit(f"error: {source} not found (the third-party data lives in ../shared/datasets)")
    if not os.access(args.joules, os.X_OK):
        sys.exit(f"error: {args.joules} not found: build joules first (scripts/setup.sh)")
    os.makedirs(args.work, exist_ok=True)


def fit_and_report(args, here, fit_arguments, header):
    """Runs `joules fit` with `fit_arguments` and the profile, report and plot options, then
    writes here/results.md: `header` followed by joules' own report of the fit."""
    report = os.path.join(args.work, "fit-report.md")
    # --calibrate-extrapolation: the profile records how its band widens outside the data
    # (experiments/extrapolation-bands reports the figures).
    subprocess.run([args.joules, "fit", *fit_arguments, "--calibrate-extrapolation",
                    "--provenance", os.path.join(here, "provenance.yaml"),
                    "--out", args.out, "--report", report, "--plot", os.path.join(here, "energy.svg")], check=True)
    with open(report) as f:
        fit_report = f.read()
    results = os.path.join(here, "results.md")
    with open(results, "w") as f:
        f.write(header + fit_report.replace("# Fit of board profile", "## Fit of board profile", 1))
    print(f"wrote {os.path.relpath(results, ROOT)}")
