#!/usr/bin/env bash
# On a machine with Debian 12's package registry: download the .deb files joules' build needs
# besides LibTorch (yaml-cpp, fmt, TBB, nlohmann-json, CLI11, GoogleTest, zlib headers, with
# their runtime libraries) and Fashion-MNIST into DIR, for a GPU host that has no registry.
# The host provides the C/C++ toolchain, CMake, CUDA and a CUDA-enabled LibTorch (e.g. PyTorch's).
#   scripts/offline/fetch-debs.sh DIR
set -euo pipefail
dir=${1:?usage: fetch-debs.sh DIR}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

wanted=(libyaml-cpp-dev libfmt-dev libtbb-dev nlohmann-json3-dev libcli11-dev libgtest-dev libgmock-dev
        zlib1g-dev dataset-fashion-mnist)
# The toolchain and C library of the host are not ours to replace.
base='^(libc6|libc6-dev|libc-dev-bin|libcrypt.*|libnsl.*|libtirpc.*|linux-libc-dev|rpcsvc-proto|gcc-.*|libgcc-s1|libstdc\+\+6|libssl.*|libkrb5.*|libk5crypto3|libgssapi-krb5-2|libcom-err2|libkeyutils1|libudev1|zlib1g)$'

mapfile -t closure < <(apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
                         --no-replaces --no-enhances "${wanted[@]}" | grep -v '^ ' | grep -v '^<' | sort -u |
                       grep -Ev "$base")
echo "fetch-debs: downloading ${#closure[@]} packages into $dir: ${closure[*]}"
(cd "$dir" && apt-get download "${closure[@]}")
ls -1 "$dir"/*.deb | wc -l
