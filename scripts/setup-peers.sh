#!/usr/bin/env bash
# Installs what only golden-file making and side-by-side benchmarks need: the newest PyTorch
# (plus numpy and safetensors) and Keras 3 (run on its torch backend: KERAS_BACKEND=torch) into
# the first python3 on PATH, Hugging Face transformers and tokenizers (the pretrained-model
# fixtures and the generate() peer), and the SentencePiece Python
# package at the version of the Debian library nabla links (the BPE twin must tokenize alike).
# `make test` never needs any of it.
set -euo pipefail

sentencepiece_version=$(dpkg-query -W -f='${Version}' libsentencepiece-dev 2>/dev/null | sed 's/-.*//')
wanted_sentencepiece() {
  [ -z "$sentencepiece_version" ] ||
    python3 -c "import sentencepiece, sys; sys.exit(sentencepiece.__version__ != '$sentencepiece_version')" 2>/dev/null
}

if ! python3 -c "import torch, numpy, safetensors" 2>/dev/null; then
  echo "setup-peers: installing torch, numpy, safetensors with pip"
  python3 -m pip install --quiet --upgrade torch numpy safetensors
fi
if ! python3 -c "import keras" 2>/dev/null; then
  echo "setup-peers: installing keras with pip"
  python3 -m pip install --quiet --upgrade keras
fi
if ! python3 -c "import transformers, tokenizers" 2>/dev/null; then
  echo "setup-peers: installing transformers, tokenizers with pip"
  python3 -m pip install --quiet --upgrade transformers tokenizers
fi
if ! wanted_sentencepiece; then
  echo "setup-peers: installing sentencepiece==$sentencepiece_version with pip (the Debian library's version)"
  python3 -m pip install --quiet "sentencepiece==$sentencepiece_version"
fi
