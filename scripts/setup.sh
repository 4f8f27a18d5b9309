#!/usr/bin/env bash
# Sets up joules on Debian 12: installs the Debian packages it needs (only those missing, so a
# second run installs nothing), then configures and builds it in build/. Non-interactive.
#   scripts/setup.sh            install + build
#   BUILD_DIR=... CMAKE_ARGS=... scripts/setup.sh   to build elsewhere or with other options
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

packages=(
  build-essential cmake pkg-config
  libtorch-dev libtbb-dev libyaml-cpp-dev libfmt-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev
  zlib1g-dev                       # gzipped IDX files (train/)
  libpng-dev libturbojpeg0-dev     # image folders: PNG and JPEG decoding (train/)
  dataset-fashion-mnist            # training data: /usr/share/datasets/fashion-mnist
  python3 python3-torch            # peers of the benchmarks under bench/
  python3-optuna                   # Optuna, the peer of the search-efficiency bench (bench/search_efficiency_optuna.py)
  libpagmo-dev                     # pagmo2, the peer of bench/nsga2_vs_pagmo
  libonnx-dev libprotobuf-dev protobuf-compiler  # ONNX files (onnx/)
  libopencv-dev                    # OpenCV DNN: the independent ONNX runtime of tests/onnx
  chromium                         # headless browser of the report tests (tests/report)
  openmpi-bin libopenmpi-dev       # distributed search under mpirun (search/mpi_evaluator.cpp)
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  sudo=()
  [[ $(id -u) -eq 0 ]] || sudo=(sudo)
  echo "setup: installing ${missing[*]}"
  "${sudo[@]}" apt-get update
  DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
fi

build_dir=${BUILD_DIR:-build}
# shellcheck disable=SC2086  # CMAKE_ARGS is a list of words on purpose
cmake -S . -B "$build_dir" -DCMAKE_BUILD_TYPE=Release ${CMAKE_ARGS:-}
cmake --build "$build_dir" -j"$(nproc)"
