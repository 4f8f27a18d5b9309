#!/usr/bin/python3
"""Writes the ONNX fixtures of tests/onnx from PyTorch's own exporter (torch.onnx.export), with
expected.json: per file, the MACs (DESIGN.md's formula), the parameters as the file holds them
(batch norm folded into the conv by the exporter) and the output shape, or the op joules must
refuse. Run it only to regenerate the committed files; the tests themselves need no Python:
    /usr/bin/python3 tests/onnx/make_fixtures.py tests/onnx/fixtures
"""
import json
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)


class LeNet(nn.Module):
    """PyTorch's classic LeNet: relu after pooling, flatten with torch.flatten."""

    def __init__(self, relu_after_pool):
        super().__init__()
        self.relu_after_pool = relu_after_pool
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2)
        self.conv2 = nn.Conv2d(6, 16, 5)
        self.fc1 = nn.Linear(16 * 5 * 5, 120)
        self.fc2 = nn.Linear(120, 84)
        self.fc3 = nn.Linear(84, 10)

    def forward(self, x):
        for conv in (self.conv1, self.conv2):
            x = F.relu(F.max_pool2d(conv(x), 2)) if self.relu_after_pool else F.max_pool2d(F.relu(conv(x)), 2)
        x = torch.flatten(x, 1)
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def mobile_block(cin, cout, stride, act):
    return [nn.Conv2d(cin, cin, 3, stride, 1, groups=cin, bias=False), nn.BatchNorm2d(cin), act(),
            nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), act()]


def mobile(act):
    return nn.Sequential(nn.Conv2d(3, 8, 3, 2, 1, bias=False), nn.BatchNorm2d(8), act(),
                         *mobile_block(8, 16, 1, act), *mobile_block(16, 24, 2, act),
                         nn.AvgPool2d(3, 2, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Dropout(0.2),
                         nn.Linear(24, 5))


def mixed():
    return nn.Sequential(nn.Conv2d(1, 8, (3, 5), padding=(1, 2)), nn.LeakyReLU(0.01), nn.MaxPool2d(2),
                         nn.Conv2d(8, 8, 3, stride=2), nn.Sigmoid(), nn.Conv2d(8, 12, 1), nn.Tanh(),
                         nn.Conv2d(12, 12, 3, padding=1), nn.SiLU(), nn.Conv2d(12, 12, 3, padding=1), nn.GELU(),
                         nn.Flatten(), nn.Linear(12 * 6 * 6, 32, bias=False), nn.ReLU6(), nn.Linear(32, 10))


class MatMulHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3)
        self.w = nn.Parameter(torch.randn(4 * 26 * 26, 10) * 0.01)
        self.b = nn.Parameter(torch.zeros(10))

    def forward(self, x):
        x = F.relu(self.conv(x)).reshape(1, -1)
        return torch.matmul(x, self.w) + self.b


class Residual(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 8 * 8, 10)

    def forward(self, x):
        y = F.relu(self.a(x))
        return self.fc(torch.flatten(y + self.b(y), 1))


class Upsample(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Conv2d(1, 4, 3, padding=1)
        self.fc = nn.Linear(4 * 16 * 16, 10)

    def forward(self, x):
        return self.fc(torch.flatten(F.interpolate(self.a(x), scale_factor=2.0), 1))


def costs(model, shape):
    """MACs by DESIGN.md's formula and the parameters the exported file holds (batch norm folded)."""
    macs = 0
    convs = []

    def hook(module, inputs, output):
        nonlocal macs
        if isinstance(module, nn.Conv2d):
            k = module.kernel_size
            macs += output.shape[2] * output.shape[3] * output.shape[1] * module.in_channels // module.groups * k[0] * k[1]
        elif isinstance(module, nn.Linear):
            macs += module.in_features * module.out_features

    for m in model.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            m.register_forward_hook(hook)
    with torch.no_grad():
        out = model(torch.zeros(1, *shape))
    params = 0
    modules = list(model.modules())
    for i, m in enumerate(modules):
        if isinstance(m, nn.Conv2d):
            folded = i + 1 < len(modules) and isinstance(modules[i + 1], nn.BatchNorm2d)
            params += m.weight.numel() + (m.out_channels if m.bias is not None or folded else 0)
        elif isinstance(m, nn.Linear):
            params += m.weight.numel() + (m.bias.numel() if m.bias is not None else 0)
    params += sum(p.numel() for n, p in model.named_parameters(recurse=False))
    if isinstance(model, MatMulHead):  # its fc is a plain matmul, which the hooks do not see
        macs += model.w.numel()
    return macs, params, [int(out.shape[1]), 1, 1]


def export(model, shape, path, opset, dynamic=True):
    model.eval()
    # Non-trivial batch-norm statistics, so that folding matters.
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.uniform_(-0.5, 0.5)
            m.running_var.uniform_(0.5, 2.0)
            m.weight.data.uniform_(0.5, 1.5)
            m.bias.data.uniform_(-0.5, 0.5)
    axes = {"input": {0: "N"}, "logits": {0: "N"}} if dynamic else None
    torch.onnx.export(model, torch.zeros(1, *shape), path, opset_version=opset, input_names=["input"],
                      output_names=["logits"], dynamic_axes=axes, do_constant_folding=True)


def main(out_dir):
    expected = {}
    cases = [
        ("lenet_relu_after_pool.onnx", LeNet(True), (1, 28, 28), 11, True),
        ("lenet.onnx", LeNet(False), (1, 28, 28), 13, True),
        ("mobile_relu6_opset13.onnx", mobile(nn.ReLU6), (3, 32, 32), 13, True),
        ("mobile_hardswish_opset13.onnx", mobile(nn.Hardswish), (3, 32, 32), 13, True),
        ("mobile_hardswish_opset14.onnx", mobile(nn.Hardswish), (3, 32, 32), 14, True),
        ("mobile_relu_opset17.onnx", mobile(nn.ReLU), (3, 32, 32), 17, True),
        ("mixed_activations.onnx", mixed(), (1, 28, 28), 13, True),
        ("matmul_head.onnx", MatMulHead(), (1, 28, 28), 13, False),
    ]
    for name, model, shape, opset, dynamic in cases:
        export(model, shape, f"{out_dir}/{name}", opset, dynamic)
        macs, params, output = costs(model, shape)
        expected[name] = {"macs": macs, "params": params, "output": output, "opset": opset}
    for name, model, op in [("residual_add.onnx", Residual(), "Add"), ("upsample.onnx", Upsample(), "Resize")]:
        export(model, (1, 8, 8), f"{out_dir}/{name}", 13)
        expected[name] = {"refused_op": op}
    with open(f"{out_dir}/expected.json", "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main(sys.argv[1])
