#!/usr/bin/python3
"""Peer of bench/train_throughput: the same training loop written in Python with PyTorch.

Run by the C++ benchmark (use Debian's /usr/bin/python3, which has python3-torch). It builds
the architecture it is given as JSON with standard modules, keeps the data in memory as one
normalised float tensor, and times training steps exactly as a careful PyTorch user would write
them: index_select batches from a shuffled permutation, zero_grad(set_to_none=True), in-place
ReLU, SGD with foreach updates. Prints one JSON line: {"samples_per_s": [...], ...}.

--fc conv computes fc layers as 1x1 convolutions, the way joules does on CPU, to separate
the kernel choice from the language and loop overheads; --channels-last also keeps the model
and the batches channels-last, which LibTorch 1.13 pools and convolves faster than NCHW (the
fastest Python loop we know for these networks).
"""

import argparse
import gzip
import json
import os
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F


def read_idx(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim)]
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def find(directory, name):
    for candidate in (name + ".gz", name):
        path = os.path.join(directory, candidate)
        if os.path.exists(path):
            return path
    raise FileNotFoundError(os.path.join(directory, name))


class FcAsConv(nn.Module):
    """nn.Linear's parameters, computed as a 1x1 convolution (oneDNN) for batches >= 16."""

    def __init__(self, inputs, units, bias):
        super().__init__()
        self.linear = nn.Linear(inputs, units, bias)

    def forward(self, x):
        n = x.shape[0]
        if n < 16:
            return self.linear(x.reshape(n, -1))
        w = self.linear.weight
        return F.conv2d(x.reshape(n, -1, 1, 1), w.view(w.shape[0], -1, 1, 1), self.linear.bias)


def activation(name):
    return {
        "none": None,
        "relu": nn.ReLU(inplace=True),
        "relu6": nn.ReLU6(inplace=True),
        "leaky_relu": nn.LeakyReLU(0.01, inplace=True),
        "sigmoid": nn.Sigmoid(),
        "tanh": nn.Tanh(),
        "gelu": nn.GELU(),
        "silu": nn.SiLU(inplace=True),
        "hardswish": nn.Hardswish(inplace=True),
    }[name]


def build(arch, fc_mode):
    channels, height, width = arch["input"]
    modules = []
    flat = None
    for layer in arch["layers"]:
        kind = layer["type"]
        if kind == "conv":
            modules.append(nn.Conv2d(channels, layer["filters"], layer["kernel"], layer["stride"],
                                     layer["padding"], groups=layer["groups"], bias=layer["bias"]))
            if layer["batch_norm"]:
                modules.append(nn.BatchNorm2d(layer["filters"]))
            channels = layer["filters"]
        elif kind == "pool":
            if layer["global"]:
                modules.append(nn.AdaptiveAvgPool2d(1) if layer["op"] == "avg" else nn.AdaptiveMaxPool2d(1))
            elif layer["op"] == "max":
                modules.append(nn.MaxPool2d(layer["kernel"], layer["stride"], layer["padding"]))
            else:
                modules.append(nn.AvgPool2d(layer["kernel"], layer["stride"], layer["padding"]))
        else:
            if flat is None:
                modules.append(nn.Flatten() if fc_mode == "linear" else nn.Identity())
                flat = layer["inputs"]
            if layer["dropout"] > 0:
                modules.append(nn.Dropout(layer["dropout"]))
            if fc_mode == "linear":
                modules.append(nn.Linear(flat, layer["units"], layer["bias"]))
            else:
                modules.append(FcAsConv(flat, layer["units"], layer["bias"]))
            flat = layer["units"]
        act = activation(layer["activation"]) if kind != "pool" else None
        if act is not None:
            modules.append(act)
    return nn.Sequential(*modules, nn.Flatten())


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch-json", required=True, help="architecture as JSON (written by the C++ bench)")
    parser.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    parser.add_argument("--samples", type=int, default=12800, help="training samples per repeat")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--learning-rate", type=float, default=0.05)
    parser.add_argument("--momentum", type=float, default=0.9)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=1)
    parser.add_argument("--fc", choices=["linear", "conv"], default="linear")
    parser.add_argument("--channels-last", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    arch = json.loads(args.arch_json)

    images = torch.from_numpy(read_idx(find(args.data, "train-images-idx3-ubyte")).copy())
    labels = torch.from_numpy(read_idx(find(args.data, "train-labels-idx1-ubyte")).astype(np.int64))
    images = images[: args.samples].reshape(args.samples, *arch["input"]).float()
    labels = labels[: args.samples]
    images = (images - images.mean()) / images.std()  # normalised once, kept in memory

    rates = []
    for _ in range(args.repeats):
        model = build(arch, args.fc)
        if args.channels_last:
            model = model.to(memory_format=torch.channels_last)
        model.train()
        optimizer = torch.optim.SGD(model.parameters(), lr=args.learning_rate, momentum=args.momentum,
                                    foreach=True)
        permutation = torch.randperm(args.samples)
        steps = args.samples // args.batch_size
        start = time.perf_counter()
        for step in range(steps):
            rows = permutation[step * args.batch_size: (step + 1) * args.batch_size]
            x = images.index_select(0, rows)
            if args.channels_last:
                x = x.contiguous(memory_format=torch.channels_last)
            y = labels.index_select(0, rows)
            optimizer.zero_grad(set_to_none=True)
            loss = F.cross_entropy(model(x), y)
            if not torch.isfinite(loss):  # the same per-step check the joules trainer makes
                raise RuntimeError("diverged")
            loss.backward()
            optimizer.step()
        rates.append(steps * args.batch_size / (time.perf_counter() - start))
    print(json.dumps({"samples_per_s": rates, "torch": torch.__version__, "threads": torch.get_num_threads(),
                      "fc": args.fc, "channels_last": args.channels_last}))


if __name__ == "__main__":
    main()
