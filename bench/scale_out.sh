#!/usr/bin/env bash
# bench/scale_out at 2, 4, 8, 16 and 32 workers (+ rank 0), both schedules, oversubscribed on
# this machine; writes bench/results/scale_out.md (override with OUT=...). SCALE (default
# 0.05) scales the measured training times of bench/data/smoke_train_seconds.csv; ROUNDS
# (default 40) gives workers x ROUNDS evaluations per run. RUN_ROOT (default /dev/shm when it
# exists, else the temp directory) holds the run directories: on tmpfs the figures are the
# coordination's own; on a disk each result also waits for its log line's fsync.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bin=${BIN:-build/bench/scale_out}
scale=${SCALE:-0.05}
rounds=${ROUNDS:-40}
out=${OUT:-bench/results/scale_out.md}
mpirun_flags=(--oversubscribe)
[[ $(id -u) == 0 ]] && mpirun_flags+=(--allow-run-as-root)
run_root=${RUN_ROOT:-$( [[ -d /dev/shm ]] && echo /dev/shm || echo "${TMPDIR:-/tmp}")}
tmp=$(mktemp -d "$run_root/scale_out.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$(dirname "$out")"
{
  echo "# bench/scale_out"
  echo
  echo "Command: \`SCALE=$scale ROUNDS=$rounds bench/scale_out.sh\` on $(nproc) cores, $(date -u +%Y-%m-%dT%H:%MZ),"
  echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg). Run directories under $run_root."
  echo "Sleeps: measured smoke training times x $scale;"
  echo "evaluations = workers x $rounds; population = workers (at least 4). rank0 ms/result: wall time"
  echo "rank 0 spends per result (log line flushed to disk, selection, breeding, next job);"
  echo "handling cpu: the same in CPU time of rank 0's driver thread (the cost itself, without waiting for"
  echo "a core on a loaded machine); process cpu: all of rank 0's CPU time per result, polling included."
  echo "until last job: utilisation up to the moment the last job was handed out (after it the run only"
  echo "drains: a worker whose training ended has nothing left to do); drain s: the wall time after it."
  echo
  echo "| workers | schedule | evaluations | wall s | utilisation | until last job | drain s | evaluations/s | rank0 ms/result | handling cpu ms/result | process cpu ms/result |"
  echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
} > "$tmp/table.md"
for workers in 2 4 8 16 32; do
  for schedule in generational async; do
    line=$(mpirun "${mpirun_flags[@]}" -np $((workers + 1)) "$bin" --schedule "$schedule" --scale "$scale" \
             --rounds "$rounds" --out "$tmp/run-$workers-$schedule")
    echo "$line" >> "$tmp/lines.jsonl"
    python3 - "$line" >> "$tmp/table.md" <<'PY'
import json, sys
j = json.loads(sys.argv[1])
print(f"| {j['workers']} | {j['schedule']} | {j['evaluations']} | {j['wall_s']:.2f} | {100 * j['utilisation']:.1f}% | "
      f"{100 * j['utilisation_until_last_job']:.1f}% | {j['drain_s']:.2f} | {j['evaluations_per_s']:.1f} | {j['rank0_ms_per_result']:.3f} | {j['rank0_handling_cpu_ms_per_result']:.3f} | "
      f"{j['rank0_cpu_ms_per_result']:.3f} |")
PY
  done
done
python3 - "$tmp/lines.jsonl" >> "$tmp/table.md" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {(r['workers'], r['schedule']): r for r in rows}
a, g = by[(32, 'async')], by[(32, 'generational')]
worst = max(r['rank0_ms_per_result'] for r in rows)
worst_cpu = max(r['rank0_handling_cpu_ms_per_result'] for r in rows)
print()
print(f"At 32 workers: async utilisation {100 * a['utilisation']:.1f}% vs generational {100 * g['utilisation']:.1f}% "
      f"(ratio {a['utilisation'] / g['utilisation']:.2f}); rank 0's worst time per result {worst:.3f} ms wall, "
      f"{worst_cpu:.3f} ms CPU.")
# On paper: rank 0 serves results one at a time, so it saturates when results arrive faster than
# it handles them: workers / mean training time > 1 / per-result cost.
per_result_s = a['rank0_handling_cpu_ms_per_result'] / 1e3
mean_train_s = a['wall_s'] * a['utilisation'] * 32 / max(a['trained'], 1)
print(f"Extrapolation to 1,000 workers (async, from the measured {1e3 * per_result_s:.3f} ms of CPU per result at 32 workers): rank 0 is busy "
      f"{100 * 1000 * per_result_s / mean_train_s:.2f}% of the time at this bench's mean (scaled) training of {mean_train_s:.3f} s; "
      f"with real trainings of 60 s, {100 * 1000 * per_result_s / 60:.4f}%. Rank 0 saturates at about "
      f"{mean_train_s / per_result_s:,.0f} workers for {mean_train_s:.3f} s trainings and {60 / per_result_s:,.0f} for 60 s ones.")
PY
echo "" >> "$tmp/table.md"
echo "Load average after: $(cut -d' ' -f1-3 /proc/loadavg)." >> "$tmp/table.md"
cat "$tmp/table.md" > "$out"
cat "$out"
