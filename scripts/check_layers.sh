#!/usr/bin/env bash
# The layer rule of docs/ARCHITECTURE.md, checked: a file in src/nabla/<layer>/ includes headers of
# its own layer and of layers below it only, and OpenMP appears in kernels/ alone (every other layer
# calls kernels for its loops). Run by `make test` (ctest Layout.*); prints every violation.
set -uo pipefail
cd "$(dirname "$0")/.."

# Bottom to top; the same order as the table in docs/ARCHITECTURE.md.
layers=(core kernels autograd ops nn optim data io viz dist privacy train models explain interop runs)
declare -A rank
for i in "${!layers[@]}"; do rank[${layers[$i]}]=$i; done

failures=0
report() {
  echo "$1"
  failures=$((failures + 1))
}

for dir in src/nabla/*/; do
  layer=$(basename "$dir")
  [[ -n "${rank[$layer]+x}" ]] || report "src/nabla/$layer/: not a layer of docs/ARCHITECTURE.md; add it to the table there and to scripts/check_layers.sh"
done

while IFS= read -r file; do
  layer=$(echo "$file" | cut -d/ -f3)
  [[ -n "${rank[$layer]+x}" ]] || continue
  while IFS=: read -r line target; do
    if [[ -z "${rank[$target]+x}" ]]; then
      report "$file:$line: includes nabla/$target/, which is not a layer"
    elif ((rank[$target] > rank[$layer])); then
      report "$file:$line: $layer (layer $((rank[$layer]))) includes nabla/$target/ (layer $((rank[$target])), above it)"
    fi
  done < <(grep -n -o '^#include "nabla/[a-z_]*/' "$file" | sed 's|:#include "nabla/|:|; s|/$||')
  if [[ $layer != kernels ]]; then
    while IFS= read -r hit; do
      report "$file:$hit: OpenMP outside kernels/; move the loop into a kernel and call it"
    done < <(grep -n -E '#pragma omp|#include <omp\.h>|\bomp_[a-z_]+\(' "$file" | cut -d: -f1)
  fi
done < <(find src/nabla -mindepth 2 -name '*.h' -o -mindepth 2 -name '*.cpp' | sort)

if ((failures > 0)); then
  echo "check_layers: $failures violation(s) of the layer rule (docs/ARCHITECTURE.md)"
  exit 1
fi
echo "check_layers: $(find src/nabla -mindepth 2 -name '*.h' -o -mindepth 2 -name '*.cpp' | wc -l) files keep the layer rule"
