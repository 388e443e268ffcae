#!/usr/bin/env python3
"""PyTorch twin of `nabla train`: reads the same JSON run config (configs/*.json, same keys and
defaults as src/nabla/models/{registry,task_data,run_train}.cpp) and trains the same model on the
same data in PyTorch, so the two final test metrics can be compared (issue 4's quality bar).

Run from the repository root:

    python3 bench/peers/train_twin.py configs/fashion_cnn.json [--set key=value ...] [--epochs N]
                                      [--seed S] [--threads 2]

Prints one line per epoch (train and validation loss and accuracy), `nabla train`'s
"prediction for [...]: ..." lines for data.predict, then the test metrics of the checkpoint with the
best training.checkpoint_monitor (as nabla picks checkpoints/best) as one JSON line, always the last:
    {"config": ..., "test": {"loss": ..., "accuracy": ...}, "best_epoch": ..., "history": [...]}

Mirrored from nabla: data loading (Fashion-MNIST IDX with standardize and augment, the KJV verse
file, inline data, Keras-style validation_split, the seeded train/validation/test split of verses —
the same xoshiro256** shuffle, so the same verses land in each part — or split "last"), the
word/char tokenizers (clean "letters" too, and SentencePiece through its pip package), padding,
language-model windows, every model type with PyTorch's default inits (GPT-2's for GPT) or Keras'
(model.init "keras"), model.initial_weights, the optimizers, schedules, gradient clipping and
accumulation, steps_per_epoch and early stopping.
What differs: init values, dropout masks, augmentation and batch order come from torch's generator,
not nabla's; the twin writes no checkpoints (checkpoint_interval_seconds is only checked).
"""

import argparse
import copy
import gzip
import io
import json
import math
import os
import re
import time
import warnings

import numpy as np
import torch
import torch.utils.checkpoint
import torch.nn as nn
import torch.nn.functional as F


def fail(*parts):
    raise SystemExit("train_twin: " + "".join(str(p) for p in parts))


# ------------------------------------------------------------------------------------------ config


class Section:
    """One object of the config: typed reads with nabla's defaults, and unknown keys are an error
    (as nabla's ConfigReader), so a typo in --set does not silently train something else."""

    def __init__(self, values, path):
        if values is not None and not isinstance(values, dict):
            fail(path, ": expected an object, got ", json.dumps(values))
        self.values, self.path, self.used = values or {}, path, set()

    def key_path(self, key):
        return f"{self.path}.{key}" if self.path else key

    def get(self, key, default, kind=float, choices=None, low=None, high=None):
        self.used.add(key)
        if key not in self.values:
            if default is None:
                fail(self.key_path(key), ": required key is missing")
            return default
        v = self.values[key]
        ok = {str: isinstance(v, str), bool: isinstance(v, bool), list: isinstance(v, list),
              int: isinstance(v, int) and not isinstance(v, bool) or isinstance(v, float) and v.is_integer(),
              float: isinstance(v, (int, float)) and not isinstance(v, bool)}[kind]
        if not ok:
            fail(self.key_path(key), ": expected ", kind.__name__, ", got ", json.dumps(v))
        v = kind(v) if kind in (int, float) else v
        if choices is not None and v not in choices:  # nabla's wording: the key and every allowed value
            fail(self.key_path(key), ": expected one of ", ", ".join(json.dumps(c) for c in choices), ", got ",
                 json.dumps(v))
        if (low is not None and v < low) or (high is not None and v > high):
            fail(self.key_path(key), ": ", v, " is outside [", low, ", ", high, "]")
        return v

    def numbers(self, key, default):
        """ConfigReader::numbers: a list of finite numbers (bools are not numbers, as in JSON)."""
        v = self.get(key, default, list)
        if not all(finite_number(item) for item in v):
            fail(self.key_path(key), ": expected a list of finite numbers, got ", json.dumps(v))
        return [float(item) for item in v]

    def number_rows(self, key, default, max_cells=1 << 20):
        """ConfigReader::number_rows: a non-empty table of finite numbers, rows non-empty and equally long."""
        self.used.add(key)
        if key not in self.values:
            if default is None:
                fail(self.key_path(key), ": required key is missing")
            return default
        v, cells = self.values[key], 0
        expected = "a list of rows of numbers ([[1, 2], [3, 4]]), all rows as long"
        if not isinstance(v, list) or not v:
            fail(self.key_path(key), ": expected ", expected, ", got ", json.dumps(v))
        for row in v:
            if (not isinstance(row, list) or not row or len(row) != len(v[0]) or
                    not all(finite_number(item) for item in row)):
                fail(self.key_path(key), ": expected ", expected, ", got ", json.dumps(v))
            cells += len(row)
            if cells > max_cells:
                fail(self.key_path(key), ": more than ", max_cells, " numbers; put data this large in a file "
                     "(data.dataset \"csv\")")
        return [[float(item) for item in row] for row in v]

    def has(self, key):
        return key in self.values

    def section(self, key):
        self.used.add(key)
        return Section(self.values.get(key), self.key_path(key))

    def finish(self):
        unknown = sorted(set(self.values) - self.used)
        if unknown:
            fail(self.key_path(unknown[0]), ": unknown key (known here: ", ", ".join(sorted(self.used)), ")")


def finite_number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def apply_override(config, assignment):
    """--set a.b.c=VALUE as nabla's io::apply_override: VALUE is JSON, else a bare string."""
    key, sep, text = assignment.partition("=")
    if not sep or not key:
        fail("--set expects key.path=value, got ", json.dumps(assignment))
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        value = text
    node, parts = config, key.split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            fail("--set ", key, ": ", part, " is not an object")
    node[parts[-1]] = value


# --------------------------------------------------------------------------- nabla's generator


MASK64 = (1 << 64) - 1


class Xoshiro256:
    """nabla::Generator (src/nabla/core/random.cpp): splitmix64 seeding, xoshiro256**, and
    rejection-sampled randint — ported bit for bit so the verse splits are nabla's own."""

    def __init__(self, seed):
        self.s = []
        x = seed & MASK64
        for _ in range(4):
            x = (x + 0x9E3779B97F4A7C15) & MASK64
            z = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & MASK64
            z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK64
            self.s.append(z ^ (z >> 31))

    @staticmethod
    def rotl(x, k):
        return ((x << k) | (x >> (64 - k))) & MASK64

    def next_u64(self):
        s = self.s
        result = (self.rotl((s[1] * 5) & MASK64, 7) * 9) & MASK64
        t = (s[1] << 17) & MASK64
        s[2] ^= s[0]
        s[3] ^= s[1]
        s[1] ^= s[2]
        s[0] ^= s[3]
        s[2] ^= t
        s[3] = self.rotl(s[3], 45)
        return result

    def randint(self, low, high):
        span = high - low
        limit = MASK64 - MASK64 % span
        while True:
            x = self.next_u64()
            if x < limit:
                return low + x % span


def split_indices(n, fractions, seed):
    """nabla::data::split_indices: one seeded Fisher-Yates shuffle cut into consecutive parts."""
    order, gen = list(range(n)), Xoshiro256(seed)
    for i in range(n - 1, 0, -1):
        j = gen.randint(0, i + 1)
        order[i], order[j] = order[j], order[i]
    total, parts, at = sum(fractions), [], 0
    last = max([k for k, f in enumerate(fractions) if f != 0] or [0])  # takes the remainder
    for k, f in enumerate(fractions):
        count = int(math.floor(f * n + 1e-9))
        if (k == last and abs(total - 1) <= 1e-9) or at + count > n:
            count = n - at
        parts.append(sorted(order[at:at + count]))
        at += count
    return parts


# ------------------------------------------------------------------------------------ tokenizers


WORD = rb"[A-Za-z0-9\x80-\xff]+(?:['\-][A-Za-z0-9\x80-\xff]+)*"
WORD_SPLIT = re.compile(rb"(" + WORD + rb")|[ \t\n\r\f\v]+|(.)", re.S)
LETTERS = re.compile(rb"[A-Za-z]+")  # std::isalpha in the C locale: ASCII letters only, bytes >= 0x80 are not


class WordTokenizer:
    """nabla's WordTokenizer: words are runs of ASCII letters/digits and non-ASCII bytes with inner
    ' and -, every other visible byte is a punctuation token; ids [<pad>,] <unk>, then words by
    descending count, ties in byte order; vocab_size counts the special tokens. letters_only (clean
    "letters", the articles' cleaning): words are runs of ASCII letters, lower-cased unless lowercase
    is false, and everything else only separates them (split_punctuation then has no effect, as in nabla)."""

    def __init__(self, texts, lowercase, split_punctuation, max_vocab, min_count, pad, letters_only=False):
        self.lowercase, self.split_punctuation, self.letters_only = lowercase, split_punctuation, letters_only
        counts = {}
        for text in texts:
            for w in self.split(text):
                counts[w] = counts.get(w, 0) + 1
        counts.pop(b"<pad>", None)
        counts.pop(b"<unk>", None)
        vocabulary = [b"<pad>", b"<unk>"] if pad else [b"<unk>"]
        for word, count in sorted(counts.items(), key=lambda wc: (-wc[1], wc[0])):
            if count < min_count or (max_vocab > 0 and len(vocabulary) >= max_vocab):
                break
            vocabulary.append(word)
        self.ids = {w: i for i, w in enumerate(vocabulary)}
        self.unk, self.vocab_size = (1 if pad else 0), len(vocabulary)

    def split(self, text):
        if self.letters_only:
            words = LETTERS.findall(text.encode("utf-8"))
            return [w.lower() for w in words] if self.lowercase else words
        tokens = []
        for word, mark in WORD_SPLIT.findall(text.encode("utf-8")):
            if word:
                tokens.append(word.lower() if self.lowercase else word)  # bytes.lower: ASCII only
            elif mark and self.split_punctuation:
                tokens.append(mark)
        return tokens

    def encode(self, text):
        return [self.ids.get(w, self.unk) for w in self.split(text)]


class CharTokenizer:
    """nabla's CharTokenizer: the corpus's code points in code-point order, <unk> last if enabled."""

    def __init__(self, corpus, unk):
        self.ids = {c: i for i, c in enumerate(sorted(set(corpus)))}
        self.unk = len(self.ids) if unk else None
        self.vocab_size = len(self.ids) + (1 if unk else 0)

    def encode(self, text):
        if self.unk is None:
            missing = set(text) - set(self.ids)
            if missing:
                fail("CharTokenizer: character ", repr(sorted(missing)[0]), " is not in the vocabulary")
        return [self.ids.get(c, self.unk) for c in text]


class SentencePieceTokenizer:
    """nabla's SentencePieceTokenizer: the same trainer arguments through the sentencepiece package."""

    def __init__(self, texts, vocab_size, model_type, max_sentences):
        try:
            import sentencepiece as spm
        except ImportError:
            fail("data.tokenizer.type \"sentencepiece\" needs the sentencepiece pip package (nabla links "
                 "libsentencepiece 0.1.97: python3 -m pip install sentencepiece==0.1.97); skipping this config")
        chosen = [t for t in texts if t]
        if 0 < max_sentences < len(chosen):  # nabla's own seeded sample
            gen = Xoshiro256(0x5E17E9CE)
            for i in range(max_sentences):
                j = gen.randint(i, len(chosen))
                chosen[i], chosen[j] = chosen[j], chosen[i]
            chosen = chosen[:max_sentences]
        model = io.BytesIO()
        spm.SentencePieceTrainer.train(
            sentence_iterator=iter(chosen), model_writer=model, model_type=model_type, vocab_size=vocab_size,
            character_coverage=1.0, byte_fallback=False, normalization_rule_name="identity",
            remove_extra_whitespaces=False, split_digits=False, input_sentence_size=0,
            shuffle_input_sentence=False, max_sentence_length=1000000, num_threads=2, minloglevel=2)
        self.processor = spm.SentencePieceProcessor(model_proto=model.getvalue())
        self.vocab_size = self.processor.get_piece_size()

    def encode(self, text):
        ids = self.processor.encode(text)
        if self.processor.unk_id() in ids:  # nabla refuses text its pieces do not cover, and so does its twin
            missing = next(c for c in text if self.processor.unk_id() in self.processor.encode(c))
            fail(f"SentencePieceTokenizer: U+{ord(missing):04X} has no piece in the vocabulary, as nabla says too")
        return ids


def build_tokenizer(cfg, texts, pad, default_vocab):
    kind = cfg.get("type", "word", str, ["char", "word", "sentencepiece"])
    if kind == "char":
        tokenizer = CharTokenizer("".join(t + "\n" for t in texts), cfg.get("unk", True, bool))
    elif kind == "word":
        lowercase, split_punctuation = cfg.get("lowercase", True, bool), cfg.get("split_punctuation", True, bool)
        letters_only = cfg.get("clean", "none", str, ["none", "letters"]) == "letters"
        tokenizer = WordTokenizer(texts, lowercase, split_punctuation, cfg.get("vocab_size", default_vocab, int, low=0),
                                  cfg.get("min_count", 1, int, low=1), pad, letters_only)
    else:
        tokenizer = SentencePieceTokenizer(texts, cfg.get("vocab_size", default_vocab or 2000, int, low=16),
                                           cfg.get("model_type", "bpe", str, ["bpe", "unigram"]),
                                           cfg.get("max_sentences", 0, int, low=0))
    cfg.finish()
    return tokenizer


# -------------------------------------------------------------------------------------- datasets


class TensorData:
    """Examples x[i], y[i]; `transform(x, generator)`, if set, augments training batches only (as
    nabla's FitOptions::train_transforms: validation and test see the data as it is)."""

    def __init__(self, x, y):
        self.x, self.y, self.transform = x, y, None

    def __len__(self):
        return len(self.x)

    def batch(self, idx):
        return self.x[idx], self.y[idx]


class WindowData:
    """nabla's LanguageModelDataset: window i = tokens[i*stride, i*stride + T), target shifted by one."""

    def __init__(self, tokens, seq_len, stride):
        self.tokens, self.seq_len, self.stride = torch.tensor(tokens, dtype=torch.int64), seq_len, stride or seq_len
        self.windows = (len(tokens) - seq_len - 1) // self.stride + 1
        self.offsets = torch.arange(seq_len)

    def __len__(self):
        return self.windows

    def batch(self, idx):
        at = idx[:, None] * self.stride + self.offsets
        return self.tokens[at], self.tokens[at + 1]


def cache_dir():
    for var, sub in (("NABLA_DATA_DIR", ""), ("XDG_CACHE_HOME", "nabla"), ("HOME", ".cache/nabla")):
        if os.environ.get(var):
            return os.path.join(os.environ[var], sub)
    return "/tmp/nabla"


def fashion_dir():
    candidates = [os.environ.get("NABLA_FASHION_MNIST_DIR"), os.path.join(cache_dir(), "fashion-mnist"),
                  "/usr/share/datasets/fashion-mnist", "/usr/local/share/datasets/fashion-mnist"]
    for d in filter(None, candidates):
        if any(os.path.exists(os.path.join(d, "train-images-idx3-ubyte" + s)) for s in (".gz", "")):
            return d
    return "/usr/share/datasets/fashion-mnist"


def read_idx(directory, stem):
    for suffix in (".gz", ""):
        path = os.path.join(directory, stem + suffix)
        if os.path.exists(path):
            with open(path, "rb") as f:
                raw = f.read()
            raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            if raw[:3] != b"\0\0\x08":
                fail(path, ": not an unsigned-byte IDX file")
            rank = raw[3]
            shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(rank)]
            return np.frombuffer(raw, np.uint8, offset=4 + 4 * rank).reshape(shape)
    fail("Fashion-MNIST file ", stem, "(.gz) not found in ", directory,
         "; install the Debian package dataset-fashion-mnist or set data.dir")


def keras_training_count(n, held_out):
    """nabla's data::keras_training_count, Keras' validation_split arithmetic: the first
    floor(n * (1 - held_out)) samples train, the rest are held out (0.29 of 100 holds out 29, not 28)."""
    return min(n, max(0, int(math.floor(float(n) * (1.0 - held_out)))))


def hold_out(x, y, fraction):
    """nabla's hold_out: Keras' validation_split, the LAST fraction of the examples for validation."""
    held = len(x) - keras_training_count(len(x), fraction)
    if len(x) - held <= 0:
        fail("data.validation_split ", fraction, " leaves no training examples of ", len(x))
    return TensorData(x[:len(x) - held], y[:len(x) - held]), (TensorData(x[len(x) - held:], y[len(x) - held:])
                                                              if held > 0 else None)


def random_crop(padding, fill=0.0):
    """nabla's data::random_crop: per image a shift (dy, dx) uniform in [-padding, padding], out[r, c] =
    in[r + dy, c + dx], `fill` where that falls outside (load_fashion: a black pixel as stored, so
    -mean/std after standardize, 0 without)."""
    fill = float(np.float32(fill))  # nabla's float fill

    def crop(x, generator):
        b, h, w = x.shape[0], x.shape[2], x.shape[3]
        padded = F.pad(x, (padding, padding, padding, padding), value=fill)
        dy, dx = torch.randint(0, 2 * padding + 1, (2, b, 1), generator=generator)
        rows, cols = torch.arange(h) + dy, torch.arange(w) + dx  # [B, H], [B, W] into the padded image
        return padded[torch.arange(b)[:, None, None], :, rows[:, :, None], cols[:, None, :]].permute(0, 3, 1, 2)
    return crop


def random_horizontal_flip(x, generator):
    """nabla's data::random_horizontal_flip(0.5): each image mirrored left-right with probability 1/2."""
    flip = torch.rand(x.shape[0], generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def load_fashion(d):
    directory = d.get("dir", fashion_dir(), str)
    limit, test_limit = d.get("limit", 0, int, low=0), d.get("test_limit", 0, int, low=0)
    fraction = d.get("validation_split", 0.1, float, low=0, high=0.9)

    def split(prefix, n_max):
        images = read_idx(directory, prefix + "-images-idx3-ubyte")
        labels = read_idx(directory, prefix + "-labels-idx1-ubyte")
        n = min(n_max, len(images)) if n_max > 0 else len(images)
        x = torch.from_numpy(images[:n].astype(np.float32) / np.float32(255)).reshape(n, 1, 28, 28)
        return x, torch.from_numpy(labels[:n].astype(np.int64))

    (x, y), (test_x, test_y) = split("train", limit), split("t10k", test_limit)
    shape = {"input": (1, 28, 28), "classes": 10, "vocab": 0}
    if d.get("standardize", False, bool):
        # Over all training images (the validation part included, as nabla standardizes before
        # hold_out): the mean and the population std (var with correction 0), then (x - mean) / std
        # in f32 as nabla's x + (-mean) and x * (1 / std). torch reduces accurately (cascade sums,
        # Welford in double), as nabla's reductions do (f64 accumulators).
        var, mean = torch.var_mean(x, correction=0)
        mean, std = mean.item(), math.sqrt(var.item())
        if not std > 0:
            fail(d.key_path("standardize"), ": the training images are all one value (", format_float(mean),
                 "), so there is no spread to scale by")
        x, test_x = (x - mean) * (1.0 / std), (test_x - mean) * (1.0 / std)
        shape["normalization"] = {"mean": mean, "std": std}
    augment, transforms = d.section("augment"), []
    padding = augment.get("crop_padding", 0, int, low=0, high=14)
    if padding > 0:  # borders stay black: a standardized black pixel is -mean/std
        norm = shape.get("normalization")
        transforms.append(random_crop(padding, -norm["mean"] / norm["std"] if norm else 0.0))
    if augment.get("flip", False, bool):
        transforms.append(random_horizontal_flip)
    augment.finish()
    train, validation = hold_out(x, y, fraction)
    if transforms:  # crop, then flip, in nabla's order
        def transform(batch, generator):
            for t in transforms:
                batch = t(batch, generator)
            return batch
        train.transform = transform
    return train, validation, TensorData(test_x, test_y), shape


VERSE = re.compile(r"^([0-9]?[A-Za-z]+)([0-9]{1,4}):([0-9]{1,4}) (.*)$", re.S)


def read_lines(path):
    if not os.path.isfile(path):
        fail("text file not found: ", path, " (nabla exports the KJV there on first use: `make setup`, or any "
             "`build/bin/nabla train` of a kjv config)")
    with open(path, "rb") as f:
        raw = f.read()
    text = raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw
    try:
        text = text.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(path, ": not UTF-8 (", e, ")")
    return [line[:-1] if line.endswith("\r") else line for line in text.split("\n")]


def kjv_verses(d):
    """(text, testament) per verse; the New Testament starts at Mat1:1. data.limit: an even sample."""
    path = d.get("path", os.path.join(cache_dir(), "kjv.txt"), str)
    verses, testament = [], 0
    for number, line in enumerate(read_lines(path), 1):
        if not line.strip():
            continue
        m = VERSE.match(line)
        if not m:
            fail(path, ":", number, ": not a verse line (expected \"Ge1:1 text\"), got ", repr(line[:60]))
        if m.group(1) == "Mat" and int(m.group(2)) == 1 and int(m.group(3)) == 1:
            testament = 1
        verses.append((m.group(4), testament))
    limit = d.get("limit", 0, int, low=0)
    if 0 < limit < len(verses):
        verses = [verses[i * len(verses) // limit] for i in range(limit)]
    return verses


def split_units(d, n, seed):
    val = d.get("validation_fraction", 0.1, float, low=0, high=0.9)
    test = d.get("test_fraction", 0.1, float, low=0, high=0.9)
    if val + test >= 1:
        fail(d.key_path("validation_fraction"), " + test_fraction must be below 1, got ", val + test)
    if d.get("split", "random", str, ["random", "last"]) == "last":
        # In order, validation and test the last fractions, cut as nabla cuts them: Keras'
        # validation_split arithmetic for what trains (floor(n * (1 - val - test))), int(n * test)
        # for the test part at the end, and validation the rest in between.
        n_train, n_test = keras_training_count(n, val + test), int(n * test)
        n_val = n - n_train - n_test
        parts = [[], [], []]
        for i in range(n):
            parts[0 if i < n_train else 1 if i < n_train + n_val else 2].append(i)
    else:
        parts = split_indices(n, [1 - val - test, val, test], seed)
    if not parts[0]:
        fail(d.key_path("dataset"), ": no training examples left after the split of ", n)
    return parts


def load_testament(d, seed):
    verses = kjv_verses(d)
    max_length = d.get("max_length", 100, int, low=1)
    pad_start = d.get("padding", "start", str, ["start", "end"]) == "start"
    parts = split_units(d, len(verses), seed)
    tokenizer = build_tokenizer(d.section("tokenizer"), [verses[r][0] for r in parts[0]], True, 10000)

    def make(rows):
        if not rows:
            return None
        x = torch.zeros(len(rows), max_length, dtype=torch.int64)  # <pad> = 0
        for i, r in enumerate(rows):
            ids = tokenizer.encode(verses[r][0])[:max_length]  # the first max_length tokens
            if ids:
                at = max_length - len(ids) if pad_start else 0
                x[i, at:at + len(ids)] = torch.tensor(ids)
        y = torch.tensor([[float(verses[r][1])] for r in rows])
        return TensorData(x, y)

    return make(parts[0]), make(parts[1]), make(parts[2]), {"input": (max_length,), "classes": 2,
                                                          "vocab": tokenizer.vocab_size}


def load_language_model(d, seed, kjv):
    units = [text for text, _ in kjv_verses(d)] if kjv else [
        line for line in read_lines(d.get("path", None, str)) if line.strip()]
    seq_len, stride = d.get("seq_len", 128, int, low=1), d.get("stride", 0, int, low=0)
    parts = split_units(d, len(units), seed)
    tokenizer = build_tokenizer(d.section("tokenizer"), [units[r] for r in parts[0]], False, 10000)

    def make(rows, step):
        if isinstance(tokenizer, SentencePieceTokenizer):  # pieces never hold a "\n": units join with a space
            stream = [i for r in rows for i in tokenizer.encode(units[r] + " ")]
        else:  # char and word tokens never cross the "\n" between units: encode the text at once
            stream = tokenizer.encode("".join(units[r] + "\n" for r in rows))
        return WindowData(stream, seq_len, step) if len(stream) > seq_len else None

    train = make(parts[0], stride)
    if train is None:
        fail(d.key_path("seq_len"), ": the training text is shorter than one window of ", seq_len, " tokens")
    return train, make(parts[1], 0), make(parts[2], 0), {"input": (seq_len,), "classes": 0,
                                                         "vocab": tokenizer.vocab_size}


def load_inline(d):
    """nabla's load_inline: a small data set written in the config (rows x, targets y: regression
    values [n, 1] f32, or class ids i64 with classes = max + 1), the last validation_split held out,
    and optional rows `predict` to run through the best weights after training."""
    x, y = d.number_rows("x", None), d.numbers("y", None)
    classes = d.get("task", "regression", str, ["regression", "classification"]) == "classification"
    if len(y) != len(x):
        fail(d.key_path("y"), ": ", len(y), " targets for ", len(x), " rows of x")
    num_classes = 0
    if classes:
        for v in y:
            if not (0 <= v < 1 << 20 and v == math.floor(v)):
                fail(d.key_path("y"), ": class ", f"{v:g}", " is not a class id (0, 1, 2, ...)")
        num_classes = int(max(y)) + 1
        targets = torch.tensor([int(v) for v in y], dtype=torch.int64)
    else:
        targets = torch.tensor(y, dtype=torch.float32).reshape(-1, 1)
    train, validation = hold_out(torch.tensor(x, dtype=torch.float32), targets,
                                 d.get("validation_split", 0.0, float, low=0, high=0.9))
    predict, features = d.number_rows("predict", []), len(x[0])
    if predict and len(predict[0]) != features:
        fail(d.key_path("predict"), ": rows of ", len(predict[0]), " numbers, but x has ", features, " features")
    return train, validation, None, {"input": (features,), "classes": num_classes, "vocab": 0,
                                     "predict": torch.tensor(predict, dtype=torch.float32) if predict else None}


def load_data(d, seed):
    name = d.get("dataset", None, str, ["fashion_mnist", "kjv_testament", "kjv_lm", "text_lm", "csv", "inline"])
    if name == "csv":
        fail("data.dataset \"csv\" has no PyTorch twin yet (no config in configs/ uses it)")
    data = {"fashion_mnist": lambda: load_fashion(d), "kjv_testament": lambda: load_testament(d, seed),
            "kjv_lm": lambda: load_language_model(d, seed, True),
            "text_lm": lambda: load_language_model(d, seed, False), "inline": lambda: load_inline(d)}[name]()
    d.finish()
    return data


# ---------------------------------------------------------------------------------------- models


class TransformerMLP(nn.Module):
    def __init__(self, embed_dim, hidden_dim):
        super().__init__()
        self.fc, self.proj = nn.Linear(embed_dim, hidden_dim), nn.Linear(hidden_dim, embed_dim)

    def forward(self, x):
        return self.proj(F.gelu(self.fc(x), approximate="tanh"))


class TransformerBlock(nn.Module):
    """nabla::nn::TransformerBlock: x += drop(attn(ln_1(x))); x += drop(mlp(ln_2(x))), batch first."""

    def __init__(self, embed_dim, num_heads, dropout, causal):
        super().__init__()
        self.causal, self.drop = causal, nn.Dropout(dropout)
        self.ln_1, self.ln_2 = nn.LayerNorm(embed_dim), nn.LayerNorm(embed_dim)
        self.attn = nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)
        self.mlp = TransformerMLP(embed_dim, 4 * embed_dim)

    def forward(self, x, key_padding_mask=None):
        h, t = self.ln_1(x), x.shape[1]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1) if self.causal else None
        a = self.attn(h, h, h, key_padding_mask=key_padding_mask, attn_mask=mask, need_weights=False,
                      is_causal=self.causal)[0]
        x = x + self.drop(a)
        return x + self.drop(self.mlp(self.ln_2(x)))


RECURRENT = {"rnn": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def last_step(cell):
    """Keras' return_sequences=False after a batch-first recurrent layer (nabla's return_sequences
    false): the last step's output. A subclass, not a wrapper, so the parameter names are nabla's
    (1.weight_ih_l0, not 1.rnn.weight_ih_l0) and model.initial_weights loads."""
    class LastStep(RECURRENT[cell]):
        def forward(self, x):
            return super().forward(x)[0][:, -1]
    return LastStep


class RecurrentClassifier(nn.Module):
    """nabla's RecurrentClassifier (model.type "rnn_classifier", the articles' PyTorch RNN classifier):
    nn.RNN / LSTM / GRU, batch first, over [steps, features] examples (a one-channel image's rows),
    and a Linear on the last time step."""

    def __init__(self, cell, steps, features, hidden_size, num_layers, classes, dropout):
        super().__init__()
        self.steps, self.features = steps, features
        self.rnn = RECURRENT[cell](features, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.fc = nn.Linear(hidden_size, classes)

    def forward(self, x):
        return self.fc(self.rnn(x.reshape(x.shape[0], self.steps, self.features))[0][:, -1])


class KerasAttention(nn.Module):
    """Keras' Attention(use_scale) layer as nabla's nn::KerasAttention, dot scores: softmax(q k^T x scale)
    v with the scalar `scale` starting at 1; keys the value mask rules out get score - 1e9 (Keras'
    masking, so an all-padding row stays finite: uniform weights)."""

    def __init__(self, use_scale):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(())) if use_scale else None

    def forward(self, query, value, value_mask):
        scores = query @ value.transpose(-2, -1)
        if self.scale is not None:
            scores = scores * self.scale
        scores = scores - (1.0 - value_mask.float().unsqueeze(1)) * 1.0e9
        return torch.softmax(scores, -1) @ value


class KerasAttentionText(nn.Module):
    """nabla's KerasAttentionClassifier (model.type "keras_attention"): Embedding, Dense(units) per
    token, Attention()([x, x]) with padding (id 0) masked as keys, the mean over the real tokens,
    Dense(units, relu), Dense(1, sigmoid). Names as nabla's state_dict."""

    def __init__(self, vocab, embedding_dim, units, use_scale):
        super().__init__()
        self.embedding, self.project = nn.Embedding(vocab, embedding_dim), nn.Linear(embedding_dim, units)
        self.attention = KerasAttention(use_scale)
        self.dense, self.head = nn.Linear(units, units), nn.Linear(units, 1)

    def forward(self, ids):
        real = ids != 0
        x = self.project(self.embedding(ids))
        x = self.attention(x, x, real)
        keep = real.float().unsqueeze(-1)  # an all-padding row divides by 1 and stays 0
        pooled = (x * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return torch.sigmoid(self.head(torch.relu(self.dense(pooled))))


class AttentionText(nn.Module):
    def __init__(self, vocab, max_length, embed_dim, num_heads, num_layers, dropout):
        super().__init__()
        self.tokens, self.positions = nn.Embedding(vocab, embed_dim), nn.Embedding(max_length, embed_dim)
        self.blocks = nn.ModuleList(TransformerBlock(embed_dim, num_heads, dropout, False) for _ in range(num_layers))
        self.norm, self.head, self.drop = nn.LayerNorm(embed_dim), nn.Linear(embed_dim, 1), nn.Dropout(dropout)

    def forward(self, ids):
        padding = ids == 0
        x = self.drop(self.tokens(ids) + self.positions(torch.arange(ids.shape[1])))
        for block in self.blocks:
            x = block(x, padding)
        keep = (~padding).float().unsqueeze(-1)  # mean over the real tokens
        pooled = (self.norm(x) * keep).sum(1) / keep.sum(1).clamp(min=1.0)
        return torch.sigmoid(self.head(pooled))


class RecurrentLM(nn.Module):
    def __init__(self, vocab, cell, embedding_dim, hidden_size, num_layers, dropout):
        super().__init__()
        self.embedding = nn.Embedding(vocab, embedding_dim)
        self.rnn = RECURRENT[cell](
            embedding_dim, hidden_size, num_layers, batch_first=True, dropout=dropout)
        self.head, self.drop = nn.Linear(hidden_size, vocab), nn.Dropout(dropout)

    def forward(self, tokens):
        return self.head(self.drop(self.rnn(self.embedding(tokens))[0]))


class GPT(nn.Module):
    def __init__(self, vocab, context, n_layer, n_head, n_embd, dropout, activation_checkpointing=False):
        super().__init__()
        self.activation_checkpointing = activation_checkpointing
        self.wte, self.wpe = nn.Embedding(vocab, n_embd), nn.Embedding(context, n_embd)
        self.h = nn.ModuleList(TransformerBlock(n_embd, n_head, dropout, True) for _ in range(n_layer))
        self.ln_f, self.drop = nn.LayerNorm(n_embd), nn.Dropout(dropout)
        with torch.no_grad():  # GPT-2's init, residual projections scaled by 1/sqrt(2 n_layer)
            for name, p in self.named_parameters():
                if "ln_" in name:
                    continue
                residual = name.endswith("out_proj.weight") or name.endswith("mlp.proj.weight")
                if p.dim() >= 2:
                    p.normal_(0.0, 0.02 / math.sqrt(2 * n_layer) if residual else 0.02)
                else:
                    p.zero_()

    def forward(self, tokens):
        x = self.drop(self.wte(tokens) + self.wpe(torch.arange(tokens.shape[1])))
        for block in self.h:  # model.activation_checkpointing: recompute each block in backward
            recompute = self.activation_checkpointing and self.training
            x = torch.utils.checkpoint.checkpoint(block, x, use_reentrant=False) if recompute else block(x)
        return self.ln_f(x) @ self.wte.weight.T  # output layer tied to the token embedding


def apply_keras_init(model):
    """nabla's apply_keras_initializers (model.init "keras"): every Linear and Conv2d kernel glorot-uniform
    with zero bias, embeddings U(-0.05, 0.05), recurrent layers per layer and direction: the input
    kernel glorot-uniform and the recurrent kernel orthogonal, each as one [gates*H, .] matrix (as
    nabla and Keras: Keras' kernel [in, gates*H] and recurrent_kernel [H, gates*H] are these
    transposed, so the gate order does not matter), biases zero, and an LSTM's forget-gate bias 1
    (Keras' unit_forget_bias; in b_ih, rows H:2H of PyTorch's i, f, g, o). Everything else (layer
    norms, MultiheadAttention's in_proj, the attention scale) keeps its value, as in nabla."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, (nn.Linear, nn.Conv2d)):  # MultiheadAttention's out_proj is a Linear too
                nn.init.xavier_uniform_(module.weight)
                if module.bias is not None:
                    nn.init.zeros_(module.bias)
            elif isinstance(module, nn.Embedding):
                nn.init.uniform_(module.weight, -0.05, 0.05)
            elif isinstance(module, nn.RNNBase):
                hidden = module.hidden_size
                for layer in range(module.num_layers):
                    for suffix in ("", "_reverse") if module.bidirectional else ("",):
                        nn.init.xavier_uniform_(getattr(module, f"weight_ih_l{layer}{suffix}"))
                        nn.init.orthogonal_(getattr(module, f"weight_hh_l{layer}{suffix}"))
                        if module.bias:
                            nn.init.zeros_(getattr(module, f"bias_ih_l{layer}{suffix}"))
                            nn.init.zeros_(getattr(module, f"bias_hh_l{layer}{suffix}"))
                            if isinstance(module, nn.LSTM):
                                getattr(module, f"bias_ih_l{layer}{suffix}")[hidden:2 * hidden] = 1.0


SAFETENSORS_DTYPES = {"F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
                      "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
                      "U8": torch.uint8, "BOOL": torch.bool}


def read_safetensors(path, label):
    """{name: tensor} of a safetensors file (8-byte little-endian header size, JSON header, data);
    errors start with `label`, the key that named the file."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        fail(label, ": cannot read it: ", e.strerror)
    size = int.from_bytes(raw[:8], "little") if len(raw) >= 8 else -1
    try:
        header = json.loads(raw[8:8 + size]) if 0 < size <= len(raw) - 8 else None
    except (json.JSONDecodeError, UnicodeDecodeError):
        header = None
    if not isinstance(header, dict):
        fail(label, ": not a safetensors file")
    tensors, data = {}, raw[8 + size:]
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info.get("dtype") not in SAFETENSORS_DTYPES:
            fail(label, ": ", name, " has dtype ", info.get("dtype"), ", not one of ", ", ".join(SAFETENSORS_DTYPES))
        dtype, shape, (begin, end) = SAFETENSORS_DTYPES[info["dtype"]], info["shape"], info["data_offsets"]
        if end - begin != math.prod(shape) * dtype.itemsize or end > len(data):
            fail(label, ": ", name, "'s byte range [", begin, ", ", end, ") does not hold a ", info["dtype"], " ",
                 shape, " tensor")
        tensors[name] = (torch.frombuffer(bytearray(data[begin:end]), dtype=dtype).reshape(shape) if end > begin
                         else torch.empty(shape, dtype=dtype))
    return tensors


def load_initial_weights(model, path):
    """model.initial_weights: nabla's strict load_state_dict of a safetensors file under nabla's
    state_dict names. The twin's modules carry those names (Sequential indices, embedding/rnn/head,
    wte/h.0.attn.in_proj_weight, ...), so a file nabla accepts fits here too; values are converted to
    the parameter's dtype as nabla does."""
    label = f"model.initial_weights \"{path}\""
    state, own = read_safetensors(path, label), model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    mismatched = [f"{k} (file {list(state[k].shape)}, model {list(own[k].shape)})" for k in sorted(set(state) & set(own))
                  if state[k].shape != own[k].shape]
    if missing or unexpected or mismatched:
        fail(label, ": the state does not fit this architecture",
             *(f"\n  {what} ({len(keys)}): " + " ".join(keys) for what, keys in
               (("missing keys", missing), ("unexpected keys", unexpected), ("shape mismatches", mismatched)) if keys))
    with torch.no_grad():
        for name, t in own.items():
            t.copy_(state[name].to(t.dtype))


def build_model(m, shape):
    """(module, task) as nabla's registry builds them, with the same keys and defaults."""
    kind = m.get("type", None, str, ["neuron", "mlp", "fashion_cnn", "lenet", "rnn_classifier", "lstm_text",
                                     "attention_text", "keras_attention", "gru_lm", "char_rnn", "gpt"])
    features, classes, vocab = math.prod(shape["input"]), shape["classes"], shape["vocab"]
    if kind in ("fashion_cnn", "lenet") and shape["input"] != (1, 28, 28):
        fail("model.type \"", kind, "\" needs 28x28 one-channel images (data.dataset \"fashion_mnist\")")
    if kind == "rnn_classifier" and not (len(shape["input"]) == 2 or (len(shape["input"]) == 3 and
                                                                      shape["input"][0] == 1)):
        fail("model.type \"", kind, "\" reads [steps, features] examples or one-channel images (their rows as "
             "steps), but the data gives examples of shape ", list(shape["input"]))
    if kind in ("lstm_text", "attention_text", "keras_attention", "gru_lm", "char_rnn", "gpt") and vocab <= 0:
        fail("model.type \"", kind, "\" needs token ids from a text dataset with a tokenizer")
    task = "classification"
    if kind == "neuron":
        model, task = nn.Sequential(nn.Linear(features, 1), nn.Sigmoid()), "regression"
    elif kind == "mlp":
        layers, width = [nn.Flatten()], features
        n_hidden, hidden = m.get("hidden_layers", 2, int, low=0, high=16), m.get("hidden_size", 256, int, low=1)
        dropout = m.get("dropout", 0.0, float, low=0, high=0.99)
        for _ in range(n_hidden):
            layers += [nn.Linear(width, hidden), nn.ReLU()] + ([nn.Dropout(dropout)] if dropout > 0 else [])
            width = hidden
        model = nn.Sequential(*layers, nn.Linear(width, classes))
    elif kind == "fashion_cnn":
        dropout = m.get("dropout", 0.0, float, low=0, high=0.99)
        model = nn.Sequential(nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(32, 64, 3), nn.ReLU(),
                              nn.MaxPool2d(2), nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(),
                              *([nn.Dropout(dropout)] if dropout > 0 else []), nn.Linear(128, classes))
    elif kind == "lenet":
        act = {"relu": nn.ReLU, "tanh": nn.Tanh}[m.get("activation", "relu", str, ["relu", "tanh"])]
        pool = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}[m.get("pooling", "max", str, ["max", "avg"])]
        model = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), act(), pool(2), nn.Conv2d(6, 16, 5), act(), pool(2),
                              nn.Flatten(), nn.Linear(400, 120), act(), nn.Linear(120, 84), act(),
                              nn.Linear(84, classes))
    elif kind == "rnn_classifier":
        cell = m.get("cell", "rnn", str, ["rnn", "lstm", "gru"])
        hidden, layers = m.get("hidden_size", 128, int, low=1), m.get("num_layers", 1, int, low=1, high=8)
        model = RecurrentClassifier(cell, shape["input"][-2], shape["input"][-1], hidden, layers, classes,
                                    m.get("dropout", 0.0, float, low=0, high=0.99))
    elif kind == "lstm_text":
        cell = m.get("cell", "lstm", str, ["rnn", "lstm", "gru"])
        embedding, hidden = m.get("embedding_dim", 128, int, low=1), m.get("hidden_size", 128, int, low=1)
        layers, dropout = m.get("num_layers", 2, int, low=1, high=8), m.get("dropout", 0.0, float, low=0, high=0.99)
        model = nn.Sequential(nn.Embedding(vocab, embedding),
                              last_step(cell)(embedding, hidden, layers, batch_first=True, dropout=dropout),
                              nn.Linear(hidden, 1), nn.Sigmoid())
        task = "binary"
    elif kind == "attention_text":
        model = AttentionText(vocab, shape["input"][0], m.get("embed_dim", 128, int, low=1),
                              m.get("num_heads", 4, int, low=1), m.get("num_layers", 1, int, low=1, high=12),
                              m.get("dropout", 0.1, float, low=0, high=0.99))
        task = "binary"
    elif kind == "keras_attention":
        model = KerasAttentionText(vocab, m.get("embedding_dim", 64, int, low=1), m.get("units", 64, int, low=1),
                                   m.get("use_scale", True, bool))
        task = "binary"
    elif kind in ("gru_lm", "char_rnn"):
        gru = kind == "gru_lm"
        model = RecurrentLM(vocab, m.get("cell", "gru" if gru else "lstm", str, ["gru", "lstm", "rnn"]),
                            m.get("embedding_dim", 256 if gru else 64, int, low=1),
                            m.get("hidden_size", 1024 if gru else 512, int, low=1),
                            m.get("num_layers", 1 if gru else 2, int, low=1, high=8),
                            m.get("dropout", 0.0, float, low=0, high=0.99))
        task = "language_model"
    else:
        context, n_layer = m.get("context", 128, int, low=1, high=1 << 16), m.get("n_layer", 4, int, low=1, high=96)
        n_head, n_embd = m.get("n_head", 4, int, low=1, high=128), m.get("n_embd", 256, int, low=1)
        if n_embd % n_head:
            fail(m.key_path("n_embd"), ": must be a multiple of model.n_head (", n_head, "), got ", n_embd)
        if shape["input"][0] > context:
            fail("data.seq_len ", shape["input"][0], " is longer than the model's context of ", context)
        padded = m.get("vocab_size", 0, int, low=0, high=1 << 24)
        if padded and padded < vocab:
            fail(m.key_path("vocab_size"), ": ", padded, " rows are fewer than the tokenizer's ", vocab, " tokens")
        model = GPT(max(vocab, padded), context, n_layer, n_head, n_embd,
                    m.get("dropout", 0.1, float, low=0, high=0.99),
                    m.get("activation_checkpointing", False, bool))
        task = "language_model"
    # PyTorch's initialisation (how the layers are built), or Keras' defaults as the articles' Keras
    # programs start from; then a new run's initial_weights, if any, replace either.
    if m.get("init", "pytorch", str, ["pytorch", "keras"]) == "keras":
        apply_keras_init(model)
    initial_weights = m.get("initial_weights", "", str)
    m.finish()
    if task == "classification" and classes <= 1:
        fail("model.type \"", kind, "\" is a classifier but the data has no class labels")
    if initial_weights:
        load_initial_weights(model, initial_weights)
    return model, kind, task


# ---------------------------------------------------------------------- losses, metrics, optimizer


def make_loss(name):
    losses = {
        "sparse_categorical_crossentropy": lambda p, y: F.cross_entropy(p.reshape(-1, p.shape[-1]), y.reshape(-1)),
        "binary_crossentropy": lambda p, y: F.binary_cross_entropy(p, y.float().reshape(p.shape)),
        "binary_crossentropy_from_logits":
            lambda p, y: F.binary_cross_entropy_with_logits(p, y.float().reshape(p.shape)),
        "mse": lambda p, y: F.mse_loss(p, y.float().reshape(p.shape)),
        "mae": lambda p, y: (p - y.float().reshape(p.shape)).abs().mean()}
    losses["mean_squared_error"], losses["mean_absolute_error"] = losses["mse"], losses["mae"]
    if name not in losses:
        fail("training.loss \"", name, "\" has no PyTorch twin here; mirrored: ", ", ".join(losses))
    return losses[name]


def make_metric(name, loss_name):
    """(name, hits(prediction, y) -> (numerator, denominator)): nabla's ratio metrics."""
    if name in ("accuracy", "acc"):
        if "binary" in loss_name:
            cut = 0.0 if "logits" in loss_name else 0.5
            return "accuracy", lambda p, y: (((p.reshape(-1) > cut) == (y.reshape(-1) > 0.5)).sum().item(), p.numel())
        return "accuracy", lambda p, y: ((p.argmax(-1).reshape(-1) == y.reshape(-1)).sum().item(), y.numel())
    if name == "perplexity":
        return "perplexity", lambda p, y: (F.cross_entropy(p.reshape(-1, p.shape[-1]), y.reshape(-1),
                                                           reduction="sum").item(), y.numel())
    fail("training.metrics \"", name, "\" has no PyTorch twin here; mirrored: accuracy, perplexity")


def build_optimizer(o, model, kind):
    name = o.get("name", "adam", str, ["sgd", "adam", "adamw", "rmsprop", "adagrad"])
    lr = o.get("lr", 0.01 if name == "sgd" else 1e-3, float, low=1e-300)
    wd = o.get("weight_decay", 0.01 if name == "adamw" else 0.0, float, low=0)
    if kind == "gpt" and name == "adamw":  # nanoGPT's groups: matrices and embeddings decay, the rest not
        params = [{"params": [p for p in model.parameters() if p.dim() >= 2], "weight_decay": wd},
                  {"params": [p for p in model.parameters() if p.dim() < 2], "weight_decay": 0.0}]
    else:
        params = [{"params": list(model.parameters()), "weight_decay": wd}]
    if name == "sgd":
        opt = torch.optim.SGD(params, lr=lr, momentum=o.get("momentum", 0.0, float, low=0, high=1),
                              nesterov=o.get("nesterov", False, bool))
    elif name in ("adam", "adamw"):
        betas = (o.get("beta1", 0.9, float, low=0, high=1), o.get("beta2", 0.999, float, low=0, high=1))
        opt = (torch.optim.Adam if name == "adam" else torch.optim.AdamW)(
            params, lr=lr, betas=betas, eps=o.get("eps", 1e-8, float, low=1e-300, high=1))
    elif name == "rmsprop":
        opt = torch.optim.RMSprop(params, lr=lr, alpha=o.get("alpha", 0.99, float, low=0, high=1),
                                  momentum=o.get("momentum", 0.0, float, low=0, high=1))
    else:
        opt = torch.optim.Adagrad(params, lr=lr)
    o.finish()
    return opt


class Schedule:
    """nabla's schedule callbacks: cosine with linear warmup stepped per optimizer step (lr 0 at
    step 0, as nabla's CosineWithWarmup), step/exponential per epoch, plateau on val_loss."""

    def __init__(self, s, optimizer, steps_per_epoch, epochs, accumulation):
        self.optimizer, self.accumulation = optimizer, accumulation
        self.kind = s.get("type", "none", str, ["none", "cosine", "step", "exponential", "plateau"])
        self.base = optimizer.param_groups[0]["lr"]
        if self.kind == "cosine":
            self.total = max(1, steps_per_epoch // accumulation) * epochs
            self.warmup = s.get("warmup_steps", min(100, self.total // 10), int, low=0, high=self.total)
            self.min_lr, self.step_count = s.get("min_lr", 0.0, float, low=0), 0
            self.set_lr(self.cosine(0))
        elif self.kind in ("step", "exponential"):
            self.gamma = s.get("gamma", 0.1 if self.kind == "step" else 0.95, float, low=1e-300, high=1)
            self.step_size = s.get("step_size", 10, int, low=1) if self.kind == "step" else 1
        elif self.kind == "plateau":
            self.factor = s.get("factor", 0.1, float, low=1e-300, high=1)
            self.patience, self.best, self.wait = s.get("patience", 2, int, low=0), math.nan, 0
        s.finish()

    def set_lr(self, lr):
        for group in self.optimizer.param_groups:
            group["lr"] = lr

    def cosine(self, step):
        if step < self.warmup:
            return self.base * step / self.warmup
        progress = min(1.0, (step - self.warmup) / (self.total - self.warmup)) if self.total > self.warmup else 1.0
        return self.min_lr + (self.base - self.min_lr) * 0.5 * (1.0 + math.cos(math.pi * progress))

    def epoch_begin(self, epoch):
        if self.kind in ("step", "exponential"):
            self.set_lr(self.base * self.gamma ** (epoch // self.step_size))

    def batch_end(self, batch):
        if self.kind == "cosine" and (batch + 1) % self.accumulation == 0:
            self.step_count += 1
            self.set_lr(self.cosine(self.step_count))

    def epoch_end(self, logs):
        if self.kind != "plateau":
            return
        current = logs["val_loss"]
        if math.isnan(self.best) or current < self.best - 1e-4:
            self.best, self.wait = current, 0
        else:
            self.wait += 1
            if self.wait >= self.patience:
                self.set_lr(self.optimizer.param_groups[0]["lr"] * self.factor)
                self.wait = 0


# -------------------------------------------------------------------------------------- training


def evaluate(model, data, batch_size, loss_fn, metrics):
    model.eval()
    loss_sum, sums = 0.0, {name: [0.0, 0] for name, _ in metrics}
    with torch.no_grad():
        for start in range(0, len(data), batch_size):
            x, y = data.batch(torch.arange(start, min(start + batch_size, len(data))))
            p = model(x)
            loss_sum += loss_fn(p, y).item() * len(x)
            for name, hits in metrics:
                num, den = hits(p, y)
                sums[name][0] += num
                sums[name][1] += den
    logs = {"loss": loss_sum / max(len(data), 1)}
    for name, (num, den) in sums.items():
        logs[name] = (math.exp(num / den) if name == "perplexity" else num / den) if den else 0.0
    return logs


def autocast(precision):
    """nabla's training.precision: bf16 runs the model under CPU autocast (bf16 matmuls, f32 weights)."""
    return torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bf16")


def improved(mode, monitor, current, best, min_delta):
    """nabla's train::improved (ModelCheckpoint, EarlyStopping): mode "auto" is max for a monitor
    naming "acc", else min; the first finite value always improves."""
    if math.isnan(best):
        return not math.isnan(current)
    if mode == "auto":
        mode = "max" if "acc" in monitor else "min"
    return current < best - min_delta if mode == "min" else current > best + min_delta


class EarlyStopping:
    """nabla's (Keras 3's) EarlyStopping: stop once `monitor` has not improved by more than min_delta
    for `patience` epochs in a row (never at the end of the first epoch); restore_best_weights puts the best
    epoch's weights back at the end of training, whether or not it stopped early."""

    def __init__(self, monitor, min_delta, patience, mode, restore):
        self.monitor, self.min_delta, self.patience = monitor, abs(min_delta), patience
        self.mode, self.restore = mode, restore
        self.best, self.wait, self.stopped_epoch, self.best_weights = math.nan, 0, 0, None

    def epoch_end(self, epoch, logs, model):
        """True when training should stop after this epoch."""
        current = logs[self.monitor]
        if improved(self.mode, self.monitor, current, self.best, self.min_delta):
            self.best, self.wait = current, 0
            if self.restore:
                self.best_weights = copy.deepcopy(model.state_dict())
            return False
        self.wait += 1
        if self.wait >= self.patience and epoch > 0:  # Keras 3: not after the first epoch
            self.stopped_epoch = epoch + 1
            return True
        return False

    def train_end(self, model):
        if self.restore and self.best_weights is not None:  # Keras 3: stopped early or not
            model.load_state_dict(self.best_weights)


def check_monitor(monitor, key, metrics, validation):
    """nabla's check_before_work: a monitored value must be one the run logs every epoch."""
    logged = ["loss"] + [name for name, _ in metrics]
    allowed = logged + (["val_" + name for name in logged] if validation else [])
    if monitor not in allowed:
        fail(key, ": \"", monitor, "\" is not logged by this run",
             " (it has no validation set; set data.validation_split)" if monitor.startswith("val_") and not validation
             else "", "; choose one of ", ", ".join(allowed))


def format_float(v):
    """C++ `ostream << float` at the default precision 6: printf's %g of the value as a double."""
    return "%g" % float(v)


def run_epoch(model, data, optimizer, loss_fn, metrics, schedule, t, generator):
    model.train()
    n, bs = len(data), t["batch_size"]
    order = torch.randperm(n, generator=generator) if t["shuffle"] else torch.arange(n)
    steps = -(-n // bs)
    steps = min(t["steps_per_epoch"], steps) if t["steps_per_epoch"] > 0 else steps
    loss_sum, seen, sums = 0.0, 0, {name: [0.0, 0] for name, _ in metrics}
    optimizer.zero_grad(set_to_none=True)
    for step in range(steps):
        x, y = data.batch(order[step * bs:(step + 1) * bs])
        if getattr(data, "transform", None):  # data.augment: training batches only
            x = data.transform(x, generator)
        with autocast(t["precision"]):
            p = model(x)
            loss = loss_fn(p.float(), y)
        value = loss.item()
        if not math.isfinite(value):
            fail("the loss became ", value, " at batch ", step + 1, "; lower the learning rate or clip gradients")
        (loss / t["accumulation_steps"] if t["accumulation_steps"] > 1 else loss).backward()
        if (step + 1) % t["accumulation_steps"] == 0 or step + 1 == steps:
            if t["clip_grad_norm"] > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), t["clip_grad_norm"])
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        loss_sum += value * len(x)
        seen += len(x)
        with torch.no_grad():
            for name, hits in metrics:
                num, den = hits(p.detach(), y)
                sums[name][0] += num
                sums[name][1] += den
        schedule.batch_end(step)
    logs = {"loss": loss_sum / seen}
    for name, (num, den) in sums.items():
        logs[name] = (math.exp(num / den) if name == "perplexity" else num / den) if den else 0.0
    return logs


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("config", help="a nabla run config, e.g. configs/fashion_cnn.json")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                        help="override a config key as `nabla train --set` does (repeatable)")
    parser.add_argument("--epochs", type=int, help="shorthand for --set training.epochs=N")
    parser.add_argument("--seed", type=int, help="override the config's seed")
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (default 2)")
    args = parser.parse_args()

    with open(args.config) as f:
        config = json.load(f)
    for assignment in args.set:
        apply_override(config, assignment)
    if args.epochs is not None:
        config.setdefault("training", {})["epochs"] = args.epochs
    if args.seed is not None:
        config["seed"] = args.seed
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", message=".*dropout option adds dropout after all but last recurrent layer.*")

    root = Section(config, "")
    name = root.get("name", "run", str)
    root.get("description", "", str)
    seed = root.get("seed", 42, int, low=0)
    torch.manual_seed(seed)
    started = time.time()
    train, validation, test, shape = load_data(root.section("data"), seed)
    model, kind, task = build_model(root.section("model"), shape)

    t = root.section("training")
    tc = {"epochs": t.get("epochs", 10, int, low=1), "batch_size": t.get("batch_size", 32, int, low=1),
          "clip_grad_norm": t.get("clip_grad_norm", 0.0, float, low=0),
          "accumulation_steps": t.get("accumulation_steps", 1, int, low=1),
          "steps_per_epoch": t.get("steps_per_epoch", 0, int, low=0), "shuffle": t.get("shuffle", True, bool),
          "precision": t.get("precision", "fp32", str)}
    if tc["precision"] not in ("fp32", "bf16"):
        fail("training.precision: expected \"fp32\" or \"bf16\", got ", tc["precision"])
    default_loss = {"binary": "binary_crossentropy", "regression": "mse"}.get(task, "sparse_categorical_crossentropy")
    loss_name = t.get("loss", default_loss, str)
    loss_fn = make_loss(loss_name)
    metrics = [make_metric(m, loss_name) for m in t.get("metrics", [] if task == "regression" else ["accuracy"], list)]
    stopper = None
    if t.has("early_stopping"):  # Keras' EarlyStopping, only when the config asks for it
        e = t.section("early_stopping")
        stopper = EarlyStopping(e.get("monitor", "val_loss" if validation else "loss", str),
                                e.get("min_delta", 0.0, float, low=0), e.get("patience", 0, int, low=0, high=1000000),
                                e.get("mode", "auto", str, ["auto", "min", "max"]),
                                e.get("restore_best_weights", False, bool))
        e.finish()
    # checkpoints/best (test metrics, predictions): the best epoch by this monitor. Restoring the best
    # weights means early stopping's best, so that is the default then, and another is a contradiction.
    restore_best = stopper is not None and stopper.restore
    monitor_given = t.has("checkpoint_monitor")
    tc["checkpoint_monitor"] = t.get("checkpoint_monitor", stopper.monitor if restore_best else
                                     "val_loss" if validation else "loss", str)
    if restore_best and monitor_given and tc["checkpoint_monitor"] != stopper.monitor:
        fail("training.early_stopping.restore_best_weights: the best weights are those of "
             "training.checkpoint_monitor (\"", tc["checkpoint_monitor"], "\"), but early stopping watches \"",
             stopper.monitor, "\"; watch the same value in both, or leave out checkpoint_monitor")
    # nabla writes checkpoints at most this often; the twin writes none, so the value only is checked.
    t.get("checkpoint_interval_seconds", 5.0, float, low=0, high=86400)
    optimizer = build_optimizer(t.section("optimizer"), model, kind)
    batches = -(-len(train) // tc["batch_size"])
    batches = min(tc["steps_per_epoch"], batches) if tc["steps_per_epoch"] > 0 else batches
    schedule = Schedule(t.section("schedule"), optimizer, batches, tc["epochs"], tc["accumulation_steps"])
    t.finish()
    root.section("generate")  # sampling defaults: nabla's concern after training, not compared here
    root.finish()
    check_monitor(tc["checkpoint_monitor"], "training.checkpoint_monitor", metrics, validation)
    if stopper:
        check_monitor(stopper.monitor, "training.early_stopping.monitor", metrics, validation)

    params = sum(p.numel() for p in model.parameters())
    print(f"{name}: {kind} with {params:,} parameters (torch {torch.__version__}, {args.threads} threads); "
          f"train {len(train)}" + (f", validation {len(validation)}" if validation else "") +
          (f", test {len(test)}" if test else "") + f"; data ready in {time.time() - started:.1f} s", flush=True)

    generator = torch.Generator().manual_seed(seed)
    monitor = tc["checkpoint_monitor"]
    best, best_state, best_epoch, history = math.nan, None, 0, []
    for epoch in range(tc["epochs"]):
        began = time.time()
        schedule.epoch_begin(epoch)
        logs = run_epoch(model, train, optimizer, loss_fn, metrics, schedule, tc, generator)
        if validation:
            logs.update({"val_" + k: v for k, v in evaluate(model, validation, tc["batch_size"], loss_fn,
                                                           metrics).items()})
        logs["lr"] = optimizer.param_groups[0]["lr"]
        schedule.epoch_end(logs)
        if improved("auto", monitor, logs[monitor], best, 0.0):  # nabla's checkpoints/best
            best, best_state, best_epoch = logs[monitor], copy.deepcopy(model.state_dict()), epoch + 1
        history.append({"epoch": epoch + 1, **logs, "seconds": round(time.time() - began, 2)})
        print(f"epoch {epoch + 1}/{tc['epochs']} " + " ".join(f"{k} {v:.6g}" for k, v in logs.items()) +
              f" ({time.time() - began:.1f} s)", flush=True)
        if stopper and stopper.epoch_end(epoch, logs, model):  # after the checkpoints, as nabla's callbacks
            print(f"early stopping: {stopper.monitor} has not improved for {stopper.patience} epoch(s)", flush=True)
            break
    if stopper:
        stopper.train_end(model)  # nabla's results come from checkpoints/best all the same (below)

    result = {"config": args.config, "name": name, "framework": f"torch {torch.__version__}", "model": kind,
              "parameters": params, "best_epoch": best_epoch, "history": history}
    if validation:  # the best epoch's validation metrics: the comparison for configs without a test set
        result["validation"] = {k[4:]: v for k, v in history[best_epoch - 1].items() if k.startswith("val_")}
    if stopper:
        result["stopped_epoch"] = stopper.stopped_epoch
    if "normalization" in shape:
        result["normalization"] = shape["normalization"]
    if test or shape.get("predict") is not None:  # both through checkpoints/best, as nabla
        model.load_state_dict(best_state)
    if test:
        result["test"] = evaluate(model, test, max(tc["batch_size"], 256), loss_fn, metrics)
    if shape.get("predict") is not None:  # data.predict, printed as `nabla train` prints it
        model.eval()
        inputs = shape["predict"]
        with torch.no_grad(), autocast(tc["precision"]):
            outputs = model(inputs).float().reshape(len(inputs), -1)
        for x, y in zip(inputs.tolist(), outputs.tolist()):
            print("prediction for [" + ", ".join(format_float(v) for v in x) + "]:" +
                  "".join(" " + format_float(v) for v in y), flush=True)
        result["predictions"] = outputs.tolist()
    result["seconds"] = round(time.time() - started, 1)
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
