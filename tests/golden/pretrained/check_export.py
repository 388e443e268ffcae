#!/usr/bin/env python3
"""Checks that transformers loads what `nabla export` writes: imports each fixture folder with the
nabla binary, exports it back, loads the export with from_pretrained / AutoTokenizer, and compares
logits with the original folder's (identical weights: exact) and the tokenizer's ids on the mixed
corpus. Needs a built nabla and scripts/setup-peers.sh.

    python3 tests/golden/pretrained/check_export.py [BUILD_DIR]
"""
import pathlib
import subprocess
import sys
import tempfile

import torch
from transformers import AutoModelForMaskedLM, AutoModelForSequenceClassification, AutoTokenizer, GPT2LMHeadModel

HERE = pathlib.Path(__file__).resolve().parent
BUILD = pathlib.Path(sys.argv[1] if len(sys.argv) > 1 else HERE.parents[2] / "build")
NABLA = str(BUILD / "bin" / "nabla")
CASES = [("gpt2_tiny", GPT2LMHeadModel), ("bert_tiny", AutoModelForMaskedLM),
         ("bert_tiny_classifier", AutoModelForSequenceClassification)]


def main():
    lines = (HERE / "mixed_corpus.txt").read_text(encoding="utf-8").split("\n")[:-1]
    failures = 0
    with tempfile.TemporaryDirectory() as tmp:
        for name, cls in CASES:
            run, out = pathlib.Path(tmp) / (name + "_run"), pathlib.Path(tmp) / (name + "_hf")
            subprocess.run([NABLA, "import", str(HERE / name), "--out", str(run)], check=True, capture_output=True)
            subprocess.run([NABLA, "export", str(run), "--format", "hf", "--out", str(out)], check=True,
                           capture_output=True)
            original, exported = cls.from_pretrained(HERE / name).eval(), cls.from_pretrained(out).eval()
            tok_a, tok_b = AutoTokenizer.from_pretrained(HERE / name), AutoTokenizer.from_pretrained(out)
            text = ["And God said, Let there be [MASK].", "In the beginning God created the heaven"]
            if tok_a.pad_token is None:  # GPT-2 has none; pad with end-of-text, masked out
                tok_a.pad_token = tok_a.eos_token
            batch = tok_a(text, padding=True, return_tensors="pt")
            with torch.no_grad():
                a, b = original(**batch).logits, exported(**batch).logits
            same_logits = torch.equal(a, b)
            same_ids = all(tok_a(line, add_special_tokens=False)["input_ids"] ==
                           tok_b(line, add_special_tokens=False)["input_ids"] for line in lines)
            print(f"{name}: {type(exported).__name__} logits {'identical' if same_logits else 'DIFFER'} "
                  f"(max |diff| {(a - b).abs().max().item():.3g}); tokenizer {type(tok_b).__name__} ids "
                  f"{'identical' if same_ids else 'DIFFER'} on {len(lines)} mixed lines")
            failures += (not same_logits) + (not same_ids)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
