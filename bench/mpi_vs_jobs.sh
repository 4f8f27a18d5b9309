#!/usr/bin/env bash
# Real training: `mpirun -np 2` (rank 0 trains too: coordinator_trains, 1 thread each) against
# one process with jobs: 2, on configs/smoke.yaml without its wall-clock time budget and with
# 12,000 training samples per candidate (about a second each; smoke's 3,000 make 0.2 s
# trainings, where the second process's start-up, libtorch and the data loaded again, is most of
# the difference), 5 runs each, alternating. Prints each run, then the throughput ratio of the
# medians (trainings per second, wall time of the whole command: start-up, data loading and
# export included).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
J=${BIN:-$PWD/build/joules}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sed "s/time_budget_s: 20/time_budget_s: 0/; s/train_samples: 3000/train_samples: 12000/; s|board: jetson-nano|board: $PWD/profiles/jetson-nano.yaml|" \
  configs/smoke.yaml > "$tmp/local.yaml"
sed 's/^  jobs: 2/  jobs: 2\n  coordinator_trains: true/' "$tmp/local.yaml" > "$tmp/mpi.yaml"
flags=(--oversubscribe); [[ $(id -u) == 0 ]] && flags+=(--allow-run-as-root)
for i in 1 2 3 4 5; do
  for mode in local mpi; do
    l0=$(cut -d' ' -f1 /proc/loadavg); t0=$(date +%s.%N)
    if [[ $mode == local ]]; then "$J" search "$tmp/local.yaml" --out "$tmp/run-$mode-$i" >/dev/null 2>&1
    else mpirun "${flags[@]}" -np 2 "$J" search "$tmp/mpi.yaml" --out "$tmp/run-$mode-$i" >/dev/null 2>&1; fi
    t1=$(date +%s.%N); l1=$(cut -d' ' -f1 /proc/loadavg)
    n=$(grep -c '"status":"ok"\|"status":"failed"' "$tmp/run-$mode-$i/evaluations.jsonl")
    echo "$mode $i trained=$n wall=$(echo "$t1 - $t0" | bc) load_before=$l0 load_after=$l1"
  done
done | tee "$tmp/log"
python3 - "$tmp/log" <<'PY'
import re, statistics, sys
runs = [dict(re.findall(r"(\w+)=([\d.]+)", l), mode=l.split()[0]) for l in open(sys.argv[1])]
tp = {m: statistics.median(float(r["trained"]) / float(r["wall"]) for r in runs if r["mode"] == m) for m in ("local", "mpi")}
print(f"median throughput: jobs 2 {tp['local']:.3f} trainings/s, 2 ranks {tp['mpi']:.3f}; ratio {tp['mpi'] / tp['local']:.3f}")
PY
