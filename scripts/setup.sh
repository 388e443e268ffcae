#!/usr/bin/env bash
# Installs every Debian package nabla needs to build, test and run its demos.
# A quick no-op when everything is already present.
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config
  libdnnl-dev zlib1g-dev nlohmann-json3-dev libcli11-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libsentencepiece-dev libplplot-dev plplot-driver-cairo libpng-dev
  openmpi-bin libopenmpi-dev clang libclang-rt-14-dev clang-format
  dataset-fashion-mnist bible-kjv-text bible-kjv
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -ne 0 ] && sudo_cmd=(sudo)
  export DEBIAN_FRONTEND=noninteractive
  "${sudo_cmd[@]}" apt-get update -qq
  "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# The KJV ships in the `bible` program's own compressed format; export it once as plain UTF-8
# text (31,102 lines "Ge1:1 In the beginning...") where nabla's text loaders look for it.
kjv_dir="${NABLA_DATA_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/nabla}"
kjv_file="$kjv_dir/kjv.txt"
if [ ! -s "$kjv_file" ]; then
  mkdir -p "$kjv_dir"
  bible -f "Gen1:1-Rev22:21" > "$kjv_file.tmp"
  mv "$kjv_file.tmp" "$kjv_file"
  echo "setup: exported the King James Bible to $kjv_file"
fi
