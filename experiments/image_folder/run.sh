#!/usr/bin/env bash
# Fashion-MNIST as an image folder of PNGs against the same data as IDX files: accuracy of
# `joules train lenet5 --epochs 1`, time of the first run (decode + cache) and of a second one
# (reads the cache). Usage: experiments/image_folder/run.sh [BUILD_DIR] (default build/).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
joules="${1:-build}/joules"
out=/tmp/fmnist-png
g++ -O2 -std=c++20 experiments/image_folder/idx_to_png.cpp -lpng -lz -o /tmp/idx_to_png
[ -d "$out/train" ] || /tmp/idx_to_png /usr/share/datasets/fashion-mnist "$out"
arch=configs/architectures/lenet5.yaml
for run in idx first second; do
  [ "$run" = first ] && rm -rf "$out/.joules-cache"
  echo "== $run (load average before: $(cut -d' ' -f1-3 /proc/loadavg))"
  data=()
  [ "$run" = idx ] || data=(--dataset image-folder --data "$out")
  /usr/bin/time -f "wall %e s, user %U s, sys %S s" "$joules" train "$arch" "${data[@]}" --epochs 1 --json \
    > "/tmp/image_folder_$run.json" 2> "/tmp/image_folder_$run.err"
  tail -n 2 "/tmp/image_folder_$run.err"
  python3 -c "import json; d = json.load(open('/tmp/image_folder_$run.json')); \
print('test accuracy', d['test_accuracy'], 'training s', d['train_seconds'])"
done
