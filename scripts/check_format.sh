#!/usr/bin/env bash
# Every C++ file of the project formatted as .clang-format says (clang-format --dry-run): run by
# `make test` (ctest Layout.Format); prints each file that differs and how to fix it.
set -uo pipefail
cd "$(dirname "$0")/.."

if ! command -v clang-format > /dev/null; then
  echo "check_format: clang-format is not installed; run scripts/setup.sh"
  exit 1
fi
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.h' '*.cpp')
unformatted=()
for f in "${files[@]}"; do
  [[ -f $f ]] || continue
  clang-format --dry-run --Werror "$f" > /dev/null 2>&1 || unformatted+=("$f")
done
if ((${#unformatted[@]} > 0)); then
  printf '%s\n' "${unformatted[@]}"
  echo "check_format: ${#unformatted[@]} file(s) differ from .clang-format ($(clang-format --version)); fix with"
  echo "  clang-format -i ${unformatted[*]}"
  exit 1
fi
echo "check_format: ${#files[@]} files match .clang-format"
