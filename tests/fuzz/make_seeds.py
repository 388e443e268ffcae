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
        image_like = any(k in name for k in ("mlp", "cnn", "lenet", "neuron", "rnn_classifier"))
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

    hostile_seeds(chunk)


def deep(n, open_="[", close="]"):
    return (open_ * n + close * n).encode()


def hostile_seeds(chunk):
    """Structure-aware seeds at the edges where parsers break: deep nesting, sizes whose products
    overflow, lengths past the file, byte ranges that overlap or leave gaps."""
    huge = 18446744073709551615
    put("safetensors", "overlap", safetensors_raw({"a": ("F32", [2], [0, 8]), "b": ("F32", [2], [4, 12])}, 12))
    put("safetensors", "gap", safetensors_raw({"a": ("F32", [1], [0, 4]), "b": ("F32", [1], [8, 12])}, 12))
    put("safetensors", "trailing", safetensors_raw({"a": ("F32", [1], [0, 4])}, 16))
    put("safetensors", "huge_shape", safetensors_raw({"a": ("F32", [4294967296, 4294967296], [0, 8])}, 8))
    put("safetensors", "offsets_wrap", safetensors_raw({"a": ("U8", [4], [huge, 3])}, 4))
    put("safetensors", "huge_header_length", struct.pack("<Q", 2**63) + b"{}")
    put("safetensors", "deep_header", struct.pack("<Q", 20000) + deep(10000))

    put("checkpoint", "deep_state", deep(20000) + SEP + b"{}" + SEP + b"" + SEP + b"")
    put("checkpoint", "huge_numbers", json.dumps({"epoch": 2**63 - 1, "rng": [huge] * 5,
                                                  "progress": {"epoch": -1, "step": 2**62, "order_rng": [0] * 5,
                                                               "totals": [1e308] * 4}}).encode() + SEP + b"{}")

    put("config", "deep", b"\x00" + deep(50000))
    put("config", "deep_objects", b"\x01" + ('{"a":' * 5000 + "1" + "}" * 5000).encode())
    put("config", "huge_ints", b"\x01" + json.dumps({"model": {"type": "mlp", "hidden_size": 2**63 - 1,
                                                               "hidden_layers": huge}}).encode())
    put("config", "comments", b"\x00// [[[[ {{{{\n" + json.dumps({"model": {"type": "gpt"}}).encode() +
        b"/* ]]]] */")

    put("set_override", "deep_path", ("a." * 5000 + "b=1").encode())
    put("set_override", "deep_value", b"x=" + deep(20000))
    put("set_override", "huge_numbers", b"training.epochs=1e400" + SEP + b"x=18446744073709551616" + SEP +
        b"y=-9223372036854775809")

    put("idx", "huge_dims", struct.pack(">IIII", 0x00000803, 0xFFFFFFFF, 0xFFFFFFFF, 0xFFFFFFFF) + b"\x00" * 16)
    put("idx", "rank8", struct.pack(">I", 0x00000808) + struct.pack(">8I", *([65536] * 8)))

    put("csv", "huge_labels", b"\x01a,label\n1,1e300\n2,-1\n3,18446744073709551616\n")
    put("csv", "long_line", b"\x00" + b"a," * 20000 + b"b\n" + b"1," * 20000 + b"2\n")

    put("text", "nul_bytes", b"Ge1:1 In the \x00 beginning\nMat1:1 \x00\x00\n")
    put("tokenizer", "deep", deep(20000) + SEP + b"text")
    put("tokenizer", "huge_vocabulary_entry", json.dumps({"type": "word", "lowercase": True, "split_punctuation": True,
                                                          "pad": True, "vocabulary": ["<pad>", "<unk>", "x" * 100000]
                                                          }).encode() + SEP + b"x")

    pretrained = os.path.join(HERE, "..", "golden", "pretrained")
    mixed = open(os.path.join(pretrained, "mixed_corpus.txt"), "rb").read().split(b"\n")
    for i in (0, 18, 29, 60, 100, 150):  # accents, new emoji, CJK, long words, random UTF-8
        put("byte_level_bpe", "mixed_%d" % i, mixed[i])
        put("wordpiece", "mixed_%d" % i, mixed[i] + SEP + mixed[i + 1])
    put("byte_level_bpe", "special_and_split_char", b"Amen.<|endoftext|>In \xf0\x9f\x98\x80 the")
    put("byte_level_bpe", "invalid_utf8", b"a\xff\xfe b")
    put("wordpiece", "masks_and_long_word", b"let there be [MASK]. " + b"a" * 150 + SEP + b"[CLS][SEP]")
    for name in ("gpt2_tiny", "bert_tiny"):
        put("hf_tokenizer_json", name, open(os.path.join(pretrained, name, "tokenizer.json"), "rb").read() + SEP +
            "And God said, \u00c5 caf\u00e9 \u4e2d".encode())
    put("hf_tokenizer_json", "bad_merge", json.dumps({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]},
                                                      "pre_tokenizer": {"type": "ByteLevel"}}).encode() + SEP + b"a")
    put("hf_tokenizer_json", "wordpiece_gap", json.dumps({"model": {"type": "WordPiece", "vocab": {"[UNK]": 0, "a": 7}},
                                                          "pre_tokenizer": {"type": "BertPreTokenizer"}}).encode())

    put("image", "pgm_overflow", b"\x00P5\n4294967296 4294967296\n255\n" + b"\x00" * 16)
    put("image", "pgm_wrap", b"\x00P5\n9223372036854775807 2\n255\n" + b"\x00" * 16)
    put("image", "pgm_maxval", b"\x00P2\n2 1\n999999999999\n1 2\n")
    put("image", "png_huge", b"\x01" + b"\x89PNG\r\n\x1a\n" +
        chunk(b"IHDR", struct.pack(">IIBBBBB", 1000000, 1000000, 8, 0, 0, 0, 0)) +
        chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))

    put("command_line", "train", "train\nconfigs/neuron.json\n--out\nruns/x\n--set\ntraining.epochs=3")
    put("command_line", "empty_out", "train\nconfigs/neuron.json\n--out\n")
    put("command_line", "generate", "generate\nruns/x\n-n\n0\n--temperature\nnan\n--top-p\n2")
    put("command_line", "seed", "train\nconfigs/neuron.json\n--seed\n-3\n--global-batch\n99999999999999999999")
    put("command_line", "threads", "bench\n--peak\n--json\n--threads\n99999")
    put("command_line", "resume", "train\n--resume\nruns/x\n--overwrite\n--verbose\n7")
    put("command_line", "help", "--help")
    put("command_line", "export", "export\nruns/x\n--format\nhf\n--out\nhf_out\n--overwrite")
    put("command_line", "import", "import\nhf_dir\n--out\nruns/y\n--overwrite")
    put("command_line", "predict", "predict\nruns/x\na.png\nb.pgm\n--threads\n1")


def safetensors_raw(entries, data_size):
    """A safetensors file with the given (dtype, shape, [begin, end]) per tensor, unchecked."""
    header = {name: {"dtype": d, "shape": shape, "data_offsets": offsets} for name, (d, shape, offsets) in entries.items()}
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + b"\x01" * data_size


if __name__ == "__main__":
    main()
