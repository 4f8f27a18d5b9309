#!/usr/bin/env python3
"""Fits profiles/jetson-tx2.yaml, a rough prior, from third-party single-layer TX2 measurements.

Converts ../shared/datasets/jetson-tx2-sysidentif/tx2-conv-gpu.csv (one Conv2d+ReLU layer per
row, stride 1, no padding) into joules' per-layer measurements CSV and runs `joules fit --layers`.
The fitting itself is joules' (C++); this script is glue.

    experiments/jetson-tx2-sysidentif/run.py [--data DIR] [--joules BIN] [--work DIR]

Writes profiles/jetson-tx2.yaml and, beside this script, results.md and energy.svg. Standard
library only.
"""

import csv
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
import joules_experiment  # noqa: E402  (experiments/joules_experiment.py)

HEADER = ("layer,in_channels,in_height,in_width,filters,units,kernel,stride,padding,groups,op,bias,batch_norm,"
          "activation,energy_mj,energy_mj_std,dynamic_energy_mj,dynamic_energy_mj_std,latency_ms,latency_ms_std,"
          "repeats,group,family").split(",")


def main():
    args = joules_experiment.arguments(__doc__.splitlines()[0], "jetson-tx2-sysidentif", "jetson-tx2.yaml")
    source = os.path.join(args.data, "tx2-conv-gpu.csv")
    joules_experiment.require_inputs(args, source)

    with open(source, newline="") as f:
        rows = list(csv.DictReader(f))
    layers = os.path.join(args.work, "layers.csv")
    with open(layers, "w", newline="") as f:
        out = csv.DictWriter(f, fieldnames=HEADER, lineterminator="\n")
        out.writeheader()
        for r in rows:
            out.writerow({
                "layer": "conv", "in_channels": r["in_channels"], "in_height": r["input_hw"], "in_width": r["input_hw"],
                "filters": r["filters"], "kernel": r["kernel"], "stride": 1, "padding": 0, "groups": 1,
                "activation": "relu",
                "energy_mj": repr(float(r["energy_j"]) * 1000),  # the column holds joules (README)
                "latency_ms": r["latency_ms"], "repeats": 10,
                # A filter sweep of one input and kernel is one group: folds test unseen layer shapes.
                "group": f"{r['input_hw']}x{r['in_channels']}k{r['kernel']}",
            })
    print(f"{len(rows)} layers from {source} -> {layers}")

    header = "# Jetson TX2 (SysIdentif data): results\n\n"
    header += "Produced by `experiments/jetson-tx2-sysidentif/run.py`; do not edit by hand.\n\n"
    header += (f"- {len(rows)} single conv layers (GPU, PyTorch FP32), stride 1, no padding; energy = `energy_j` x 1000 "
               "(mJ, idle power included); groups: one per input size, input channels and kernel.\n")
    header += ("- A **rough prior**: the data's timing loop also regenerated inputs and weights, with 10 iterations "
               "and 10 power readings per layer (see the dataset's README). Plot: [energy.svg](energy.svg).\n\n")
    joules_experiment.fit_and_report(args, HERE, ["--layers", layers], header)

if __name__ == "__main__":
    main()
