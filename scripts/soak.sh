#!/usr/bin/env bash
# make soak: trains the GPT small config for SOAK_MINUTES (default 30) with evaluation and
# checkpoints every 50 steps, samples its resident memory and open file descriptors every 10 s,
# then stops it with SIGTERM (a graceful stop that saves a checkpoint). Fails when memory grows
# after warm-up (the first fifth of the run) by more than 5%, or descriptors grow at all.
#   scripts/soak.sh [BUILD_DIR] [MINUTES]
set -euo pipefail
build=${1:-build}
minutes=${2:-30}
out=$(mktemp -d "${TMPDIR:-/tmp}/nabla-soak.XXXXXX")
"$build/bin/nabla" train configs/gpt.json --out "$out/run" --verbose 0 \
  --set training.steps_per_epoch=50 --set training.epochs=100000 > "$out/train.log" 2>&1 &
pid=$!
echo "soak: nabla train (pid $pid) for $minutes min into $out; samples in $out/samples.csv"
echo "seconds,rss_mb,fds" > "$out/samples.csv"
end=$(( SECONDS + minutes * 60 ))
while [ $SECONDS -lt $end ] && kill -0 $pid 2>/dev/null; do
  rss=$(awk '/^VmRSS/ {print $2 / 1024}' /proc/$pid/status 2>/dev/null || echo 0)
  fds=$(ls /proc/$pid/fd 2>/dev/null | wc -l)
  echo "$SECONDS,$rss,$fds" >> "$out/samples.csv"
  sleep 10
done
kill -0 $pid 2>/dev/null || { echo "soak: training ended early:"; tail -5 "$out/train.log"; exit 1; }
kill -TERM $pid
wait $pid || true
tail -1 "$out/train.log"
python3 - "$out/samples.csv" "$out/run/steps.csv" <<'PY'
import csv, sys
rows = [(float(r["seconds"]), float(r["rss_mb"]), int(r["fds"])) for r in csv.DictReader(open(sys.argv[1]))]
steps = sum(1 for _ in open(sys.argv[2])) - 1
warm = rows[len(rows) // 5:]
base, peak, last = warm[0][1], max(r[1] for r in warm), rows[-1][1]
fds = sorted({r[2] for r in warm})
print(f"soak: {rows[-1][0] / 60:.1f} min, {steps} steps; resident memory after warm-up {base:.0f} MB, "
      f"peak {peak:.0f} MB, last {last:.0f} MB (growth {100 * (peak - base) / base:+.1f}%); open descriptors {fds}")
ok = peak <= base * 1.05 and len(fds) == 1
print("soak: " + ("PASS" if ok else "FAIL: memory or descriptors grew"))
sys.exit(0 if ok else 1)
PY
