#!/usr/bin/env bash
# Issue 4's quality bar in one command: trains CONFIG with nabla and with its PyTorch twin
# (bench/peers/train_twin.py) for each seed, the two side by side on one thread each, and prints
# the test metrics of both and their difference, per seed and averaged. Needs scripts/setup-peers.sh.
#   scripts/compare_twins.sh CONFIG [SEED ...]      (default: the config's own seed)
#   OUT=/tmp/twins BUILD_DIR=build scripts/compare_twins.sh configs/lenet.json 1 2 3 4 5
# EPOCHS=N trains both for N epochs instead of the config's. With a constant learning rate the
# first N epochs are exactly those of the full run, so a run that overfits early can be checked
# on its best epoch in less time.
set -euo pipefail
config=${1:?usage: scripts/compare_twins.sh CONFIG [SEED ...]}
shift
seeds=("$@")
[ ${#seeds[@]} -gt 0 ] || seeds=(default)
build=${BUILD_DIR:-build}
name=$(basename "$config" .json)
out=${OUT:-$(mktemp -d "${TMPDIR:-/tmp}/nabla-twins.XXXXXX")}
mkdir -p "$out"
for seed in "${seeds[@]}"; do
  nabla_args=() torch_args=()
  if [ -n "${EPOCHS:-}" ]; then nabla_args+=(--set "training.epochs=$EPOCHS"); torch_args+=(--epochs "$EPOCHS"); fi
  if [ "$seed" != default ]; then nabla_args+=(--set "seed=$seed"); torch_args+=(--seed "$seed"); fi
  run="$out/${name}_seed_$seed"
  rm -rf "$run"
  echo "compare_twins: $name seed $seed -> $run (nabla) and $run.torch.log" >&2
  "$build/bin/nabla" train "$config" --threads 1 "${nabla_args[@]}" --out "$run" --verbose 0 > "$run.nabla.log" 2>&1 &
  nabla_pid=$!
  python3 bench/peers/train_twin.py "$config" --threads 1 "${torch_args[@]}" > "$run.torch.log" 2>&1 ||
    { echo "compare_twins: the PyTorch twin failed:"; tail -5 "$run.torch.log"; exit 1; } >&2
  wait $nabla_pid || { echo "compare_twins: nabla train failed:"; tail -5 "$run.nabla.log"; exit 1; } >&2
done
python3 - "$out" "$name" "$config" "${seeds[@]}" <<'PY'
import csv, json, statistics, sys
out, name, config, seeds = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3])), sys.argv[4:]
# A config without a test split (data.test_fraction 0) is compared on the validation metrics of the
# epoch each framework kept as checkpoints/best.
split = "validation" if config.get("data", {}).get("test_fraction") == 0 else "test"
monitor = config.get("training", {}).get("checkpoint_monitor", "val_loss")


def nabla_metrics(run):
    if split == "test":
        return json.load(open(f"{run}/results.json"))["test"]
    rows = list(csv.DictReader(open(f"{run}/history.csv")))
    pick = max if "acc" in monitor else min  # nabla's checkpoint mode
    best = pick(rows, key=lambda row: float(row[monitor]))
    return {k[4:]: float(v) for k, v in best.items() if k.startswith("val_")}


rows = []
for seed in seeds:
    run = f"{out}/{name}_seed_{seed}"
    ours = nabla_metrics(run)
    theirs = json.loads(open(f"{run}.torch.log").read().strip().splitlines()[-1])[split]
    rows.append((seed, ours, theirs))
metric = "accuracy" if "accuracy" in rows[0][1] and "accuracy" in rows[0][2] else "loss"
scale, unit = (100, " points") if metric == "accuracy" else (1, "")
print(f"| {name} seed | nabla {split} {metric} | PyTorch {split} {metric} | difference |")
print("|---|---:|---:|---:|")
for seed, ours, theirs in rows:
    a, b = ours[metric] * scale, theirs[metric] * scale
    print(f"| {seed} | {a:.4g} | {b:.4g} | {a - b:+.3g} |")
a = statistics.mean(r[1][metric] * scale for r in rows)
b = statistics.mean(r[2][metric] * scale for r in rows)
bar = "0.5 points" if metric == "accuracy" else "2%"
within = abs(a - b) <= 0.5 if metric == "accuracy" else abs(a - b) <= 0.02 * abs(b)
print(f"| mean of {len(rows)} | {a:.4g} | {b:.4g} | {a - b:+.3g}{unit} ({'within' if within else 'outside'} {bar}) |")
PY
