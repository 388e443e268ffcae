#!/usr/bin/env bash
# Installs what only golden-file making and side-by-side benchmarks need: the newest
# PyTorch (plus numpy and safetensors) into the first python3 on PATH. `make test` never needs it.
set -euo pipefail

if python3 -c "import torch, numpy, safetensors" 2>/dev/null; then
  exit 0
fi
echo "setup-peers: installing torch, numpy, safetensors with pip"
python3 -m pip install --quiet --upgrade torch numpy safetensors
