#!/usr/bin/env bash
# On a GPU host without a package registry: unpack the .deb files fetched by fetch-debs.sh into
# PREFIX (dpkg -x; nothing is installed system-wide) and build joules against them and the
# host's LibTorch (a CUDA-enabled one found through PyTorch: torch.utils.cmake_prefix_path).
#   scripts/offline/build-with-prefix.sh DEB_DIR [PREFIX] [BUILD_DIR]
# Environment: PYTHON (default python3) to find torch; TORCH_PREFIX to name LibTorch's CMake
# prefix directly; CMAKE_ARGS for more options.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
debs=${1:?usage: build-with-prefix.sh DEB_DIR [PREFIX] [BUILD_DIR]}
prefix=${2:-$PWD/.offline-prefix}
build=${3:-build-offline}
mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)

for deb in "$debs"/*.deb; do
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$deb" "$prefix"
  else  # a .deb is an ar archive holding data.tar.*
    tmp=$(mktemp -d)
    (cd "$tmp" && ar x "$deb" && tar -xf data.tar.* -C "$prefix")
    rm -rf "$tmp"
  fi
done

torch_prefix=${TORCH_PREFIX:-$("${PYTHON:-python3}" -c 'import torch; print(torch.utils.cmake_prefix_path)' 2>/dev/null || true)}
[[ -n "$torch_prefix" ]] || { echo "build-with-prefix: no LibTorch found (set TORCH_PREFIX or PYTHON)" >&2; exit 1; }
multiarch=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
echo "build-with-prefix: packages in $prefix, LibTorch from $torch_prefix"

# shellcheck disable=SC2086  # CMAKE_ARGS is a list of words on purpose
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix/usr;$prefix/usr/lib/$multiarch/cmake;$prefix/usr/share/cmake;$torch_prefix" \
  -DCMAKE_BUILD_RPATH="$prefix/usr/lib/$multiarch" ${CMAKE_ARGS:-}
cmake --build "$build" -j"$(nproc)"
echo "build-with-prefix: built $build/joules; Fashion-MNIST is in $prefix/usr/share/datasets/fashion-mnist"
