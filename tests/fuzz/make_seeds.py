#!/usr/bin/env python3
"""Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/: small valid inputs
(and a few near misses) in each format nabla reads, so fuzzing starts from the interesting shapes.

    python3 tests/fuzz/make_seeds.py [RUN_DIR_WITH_A_SENTENCEPIECE_TOKENIZER]

corpus/checkpoint/trained_mlp* are not made here: they are a checkpoint nabla saved of the 3-2-2 MLP
the checkpoint target loads into (one Adam epoch), its parts joined as the target splits them.
"""
import json
import os
import struct
import sys
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
SEP = b"\n--\n"  # fuzz_targets.cpp splits multi-part inputs here


def put(target, name, data):
    folder = os.path.join(HERE, "corpus", target)
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def safetensors(tensors, metadata=None):
    header, blobs, offset = {}, [], 0
    for name, (dtype, shape, raw) in tensors.items():
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"".join(blobs)


def f32(*values):
    return struct.pack("<%df" % len(values), *values)


def main():
    model = safetensors({"0.weight": ("F32", [2, 3], f32(1, 2, 3, 4, 5, 6)), "0.bias": ("F32", [2], f32(0, 1))},
                        {"format": "pt"})
    put("safetensors", "model", model)
    put("safetensors", "mixed", safetensors({"a": ("BF16", [2], b"\x80\x3f\x00\x40"),
                                              "b": ("I64", [1], struct.pack("<q", 7)),
                                              "c": ("F16", [1, 1], b"\x00\x3c"), "d": ("U8", [0], b"")}))
    put("safetensors", "empty", safetensors({}))
    put("safetensors", "truncated", model[:-5])

    optimizer = safetensors({"state.0.0.exp_avg": ("F32", [2], f32(0.5, 0.25))})
    state = {"epoch": 1, "rng": [1, 2, 3, 4, 5],
             "progress": {"epoch": 1, "step": 3, "order_rng": [5, 4, 3, 2, 1], "totals": [1.5, 3, 2, 3]}}
    config = {"module": "Sequential", "loss": "mse", "metrics": []}
    put("checkpoint", "full", json.dumps(state).encode() + SEP + json.dumps(config).encode() + SEP + model + SEP + optimizer)
    put("checkpoint", "no_progress", json.dumps({"epoch": 0}).encode() + SEP + b"{}" + SEP + model + SEP + model)
    put("checkpoint", "bad_rng", json.dumps({"epoch": 2, "rng": [1]}).encode() + SEP + b"{}" + SEP + model + SEP + optimizer)

    configs = os.path.join(HERE, "..", "..", "configs")
    for name in sorted(os.listdir(configs)):
        text = open(os.path.join(configs, name), "rb").read()
        image_like = any(k in name for k in ("mlp", "cnn", "lenet", "neuron"))
        put("config", name, (b"\x01" if image_like else b"\x00") + text)
    put("config", "huge_gpt", b"\x00" + json.dumps({"model": {"type": "gpt", "n_embd": 4096, "n_head": 4}}).encode())

    put("set_override", "simple", b"training.epochs=3" + SEP + b"model.n_embd=128")
    put("set_override", "values", b'data.path="a b"' + SEP + b"x=[1,2,{\"y\":null}]" + SEP + b"a.b.c.d=word")
    put("set_override", "bad", b"=3" + SEP + b"a..b=1" + SEP + b"training.epochs=3" + SEP + b"training.epochs.x=1")

    images = struct.pack(">IIII", 0x00000803, 2, 3, 3) + bytes(range(18))
    put("idx", "images", images)
    put("idx", "labels", struct.pack(">II", 0x00000801, 4) + bytes([0, 1, 2, 9]))
    put("idx", "short", images[:20])
    put("idx", "floats", struct.pack(">IIII", 0x00000D02, 2, 2, 0) + f32(1, 2, 3, 4)[::-1])

    put("csv", "labelled", b"\x01a,b,label\n1,2,0\n3.5,-4,1\n")
    put("csv", "regression", b"\x02x1,x2,y\n0.1,0.2,0.3\n1e3,NaN,2\n")
    put("csv", "ragged", b"\x00a,b\n1\n2,3,4\n\"q\",5\n")

    put("text", "kjv", b"Ge1:1 In the beginning God created the heaven and the earth.\n"
                       b"Mat1:1 The book of the generation of Jesus Christ.\n")
    put("text", "utf8", "\ufeffZw\u00f6lf Boxk\u00e4mpfer \u2603\r\nline two\n".encode())
    put("text", "invalid_utf8", b"ok\n\xc3\x28 broken\n\xff\n")

    put("tokenizer", "char", json.dumps({"type": "char", "characters": ["a", "b", " ", "\u00e9"], "unk": True}).encode()
        + SEP + "ab \u00e9z".encode())
    put("tokenizer", "word", json.dumps({"type": "word", "lowercase": True, "split_punctuation": True, "pad": True,
                                         "vocabulary": ["<pad>", "<unk>", "the", "lord", ","]}).encode()
        + SEP + b"The LORD, the word.")
    put("tokenizer", "char_no_unk", json.dumps({"type": "char", "characters": ["x"], "unk": False}).encode() + SEP + b"xy")
    if len(sys.argv) > 1:  # a run trained with a SentencePiece tokenizer (nabla train tests/apps/tiny_bpe.json)
        saved = json.load(open(os.path.join(sys.argv[1], "config.json")))["tokenizer"]
        put("tokenizer", "sentencepiece", json.dumps(saved).encode() + SEP + b"And the LORD said")

    put("image", "pgm", b"\x00P5\n4 3\n255\n" + bytes(range(0, 240, 20)))
    put("image", "pgm_ascii", b"\x00P2\n# a comment\n2 2\n15\n0 5\n10 15\n")
    raw = b"".join(b"\x00" + bytes([16 * x + y for x in range(4)]) for y in range(4))  # 4x4 gray, filter 0

    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 4, 4, 8, 0, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    put("image", "png", b"\x01" + png)
    put("image", "png_truncated", b"\x01" + png[:40])


if __name__ == "__main__":
    main()
