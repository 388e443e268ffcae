#!/usr/bin/env bash
# Runs every libFuzzer program of a `make fuzz` build for a set time each, from the committed seed
# corpus with its dictionary (tests/fuzz/dictionaries/), and tabulates executions, coverage and
# findings. "last new coverage" is the execution at which the target last reached new code: far
# below the total means its coverage had saturated. Findings (crashes, leaks, timeouts, running
# out of memory) are written to BUILD/fuzz-findings/<target>/; once fixed, copy each into
# tests/fuzz/regressions/<target>/ so `make test` replays it for good.
#   scripts/fuzz.sh BUILD_DIR [SECONDS_PER_TARGET] [TARGET ...]
set -uo pipefail
build=${1:?usage: scripts/fuzz.sh BUILD_DIR [SECONDS] [TARGET ...]}
seconds=${2:-60}
shift $(($# >= 2 ? 2 : 1))
root="$(cd "$(dirname "$0")/.." && pwd)"
targets=("$@")
[ ${#targets[@]} -eq 0 ] &&
  targets=(safetensors checkpoint config set_override idx csv text tokenizer byte_level_bpe wordpiece hf_tokenizer_json
    image command_line)
json_targets=" safetensors checkpoint config set_override tokenizer hf_tokenizer_json "

summary="$build/fuzz-summary.md"
printf '| target | seconds | executions | exec/s | coverage (edges) | features | last new coverage at execution | corpus added | findings |\n' > "$summary"
printf '|---|---:|---:|---:|---:|---:|---:|---:|---:|\n' >> "$summary"
for t in "${targets[@]}"; do
  work="$build/fuzz-work/$t" findings="$build/fuzz-findings/$t"
  mkdir -p "$work" "$findings"
  log="$build/fuzz-$t.log"
  dict="$build/fuzz-work/$t.dict"
  : > "$dict"
  [[ $json_targets == *" $t "* ]] && cat "$root/tests/fuzz/dictionaries/json.dict" >> "$dict"
  [ -f "$root/tests/fuzz/dictionaries/$t.dict" ] && cat "$root/tests/fuzz/dictionaries/$t.dict" >> "$dict"
  # The first corpus folder collects new inputs; the committed seeds are read only.
  NABLA_NUM_THREADS=1 "$build/fuzz/fuzz_$t" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=4096 \
    -dict="$dict" -artifact_prefix="$findings/" -print_final_stats=1 "$work" "$root/tests/fuzz/corpus/$t" \
    > "$log" 2>&1
  runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo 0)
  final=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
  cov=$(echo "$final" | grep -o 'cov: [0-9]*' | grep -o '[0-9]*')
  ft=$(echo "$final" | grep -o 'ft: [0-9]*' | grep -o '[0-9]*')
  last_new=$(grep -E '^#[0-9]+[[:space:]]+NEW' "$log" | tail -1 | grep -o '^#[0-9]*' | tr -d '#')
  found=$(find "$findings" -type f | wc -l)
  fresh=$(find "$work" -type f | wc -l)
  printf '| %s | %s | %s | %s | %s | %s | %s | %s | %s |\n' "$t" "$seconds" "${runs:-0}" "$((${runs:-0} / seconds))" \
    "${cov:-?}" "${ft:-?}" "${last_new:-none}" "$fresh" "$found" | tee -a "$summary"
  [ "$found" -gt 0 ] && grep -m3 -E 'ERROR|Assertion|exception|SUMMARY' "$log"
done
echo "summary: $summary"
