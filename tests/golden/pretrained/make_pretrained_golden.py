"""Writes the golden fixtures for nabla's Hugging Face import (GPT-2 and BERT) and its GPT-2 byte-level
BPE and BERT WordPiece tokenizers. The C++ tests read them without Python: safetensors and JSON only.

Rerun from the repository root with

    python3 tests/golden/pretrained/make_pretrained_golden.py

It needs torch, transformers 5.25.0, tokenizers 0.23.3 and safetensors (see README.md for the versions
the committed files were made with), and the King James Bible as plain text at
$NABLA_DATA_DIR/kjv.txt, else $XDG_CACHE_HOME/nabla/kjv.txt, else ~/.cache/nabla/kjv.txt (what
scripts/setup.sh exports). Everything is seeded: two runs write byte-identical files.

Outputs, in this folder (README.md describes each one):
  gpt2_tiny/              GPT2LMHeadModel + GPT2Tokenizer(Fast), as save_pretrained writes them, plus the
                          legacy vocab.json / merges.txt
  bert_tiny/              BertForMaskedLM + BertTokenizer(Fast), plus vocab.txt
  bert_tiny_classifier/   BertForSequenceClassification (3 labels), same config and tokenizer
  expected.safetensors    model inputs and outputs (i64 ids, f32 activations)
  mixed_corpus.txt        ~200 hard tokenizer cases, one per line ("\\n"-separated, file ends with "\\n")
  tokenizer_ids.json      both tokenizers' ids / pre-tokens / decodings for each mixed_corpus line
  kjv_ids.json            FNV-1a hashes of the ids of the whole kjv.txt, per 10,000-id chunk
"""

import hashlib
import json
import math
import os
import pathlib
import random
import shutil
import struct
import sys
import tempfile
import unicodedata

os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

import numpy as np  # noqa: E402
import regex  # noqa: E402  (transformers' own dependency; the reference GPT-2 pre-tokenizer below uses it)
import safetensors  # noqa: E402
import tokenizers  # noqa: E402
import torch  # noqa: E402
import transformers  # noqa: E402
from safetensors import safe_open  # noqa: E402
from safetensors.torch import save  # noqa: E402
from tokenizers import BertWordPieceTokenizer, ByteLevelBPETokenizer  # noqa: E402
from transformers import (  # noqa: E402
    AutoTokenizer,
    BertConfig,
    BertForMaskedLM,
    BertForSequenceClassification,
    BertTokenizerFast,
    BertTokenizerLegacy,
    GPT2Config,
    GPT2LMHeadModel,
    GPT2TokenizerFast,
)

transformers.logging.set_verbosity_error()
transformers.utils.logging.disable_progress_bar()

HERE = pathlib.Path(__file__).resolve().parent
GPT2_DIR = HERE / "gpt2_tiny"
BERT_DIR = HERE / "bert_tiny"
CLS_DIR = HERE / "bert_tiny_classifier"

SEED_GPT2 = 20240601
SEED_BERT = 20240602
SEED_CLASSIFIER = 20240603
SEED_CORPUS = 20240604
VOCAB_SIZE = 1000
EOT = "<|endoftext|>"
BERT_SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
KJV_CHUNK = 10000
HEAD = 200

# WordPiece is trained on the KJV alone, whose alphabet is ASCII. These letters are added to its
# initial alphabet (as word-initial pieces only: the trainer makes "##x" pieces from the corpus) so
# that single CJK / Greek / Cyrillic / kana characters get ids of their own instead of [UNK], which
# makes the CJK splitting, lowercasing and accent stripping visible in the ids.
BERT_EXTRA_ALPHABET = (
    "αβγδεζηθικλμνξοπρσςτυφχψω"
    "абвгдежзийклмнопрстуфхцчшщъыьэюяё"
    "日本語中文世界人上天地神光水火山川"
    "あいうえおかきくけこさしすせそんアイウエオカキクケコン"
    "ßøæœı"
)


def kjv_path():
    for var, sub in (("NABLA_DATA_DIR", ""), ("XDG_CACHE_HOME", "nabla"), ("HOME", ".cache/nabla")):
        if os.environ.get(var):
            return pathlib.Path(os.environ[var]) / sub / "kjv.txt"
    return pathlib.Path("/tmp/nabla/kjv.txt")


# ------------------------------------------------------------------------------------------------
# Files


def save_safetensors(tensors, path, metadata=None):
    """safetensors.torch.save with the JSON header's keys sorted (as tests/golden/golden_io.py does), so a
    rerun is byte-identical whatever order the library writes its maps in."""
    blob = save({k: v.detach().clone().contiguous() for k, v in tensors.items()}, metadata=metadata)
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    path.write_bytes(struct.pack("<Q", len(text)) + text + blob[8 + n:])


def dumps_rows(obj):
    """JSON with one top-level key per line and, inside lists, one element per line: small diffs,
    readable, and plain JSON for nlohmann. Non-ASCII characters are written as raw UTF-8."""

    def enc(v):
        return json.dumps(v, ensure_ascii=False, separators=(",", ":"))

    out = ["{"]
    keys = list(obj)
    for i, k in enumerate(keys):
        v = obj[k]
        tail = "," if i + 1 < len(keys) else ""
        if isinstance(v, list) and v:
            out.append(f"{enc(k)}:[")
            out.extend(enc(x) + ("," if j + 1 < len(v) else "") for j, x in enumerate(v))
            out.append("]" + tail)
        elif isinstance(v, dict) and v and any(isinstance(x, list) and len(x) > 8 for x in v.values()):
            out.append(f"{enc(k)}:{{")
            sub = list(v)
            for j, sk in enumerate(sub):
                out.append(f"{enc(sk)}:{enc(v[sk])}" + ("," if j + 1 < len(sub) else ""))
            out.append("}" + tail)
        else:
            out.append(f"{enc(k)}:{enc(v)}{tail}")
    out.append("}")
    return "\n".join(out) + "\n"


def write_text(path, text):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(text)


def normalise_config_json(folder):
    """config.json as save_pretrained wrote it, re-sorted: stable across runs."""
    p = folder / "config.json"
    write_text(p, json.dumps(json.loads(p.read_text(encoding="utf-8")), indent=2, sort_keys=True) + "\n")


# ------------------------------------------------------------------------------------------------
# The mixed test corpus


def handmade_lines():
    long_word = "supercalifragilisticexpialidocious" * 3 + "x" * 2  # 104 letters
    return [
        # Accented Latin, precomposed and combining, and case
        "café naïve résumé Ångström Ñandú jalapeño",
        "cafe\u0301 nai\u0308ve Ame\u0301lie Å vs A\u030a vs \u212b (angstrom sign)",
        "e\u0301\u0302\u0303 stacked marks, and a lone mark \u0301 between spaces",
        "ÀÉÎÕÜ àéîõü ÇçŒœÆæØøÐðÞþ",
        "Straße STRASSE ẞ (capital sharp s) ß",
        "İstanbul ıi Iİ DİYARBAKIR",
        "ﬁnance ﬂuent ﬀ ligatures, Ǆ ǅ ǆ digraphs",
        # Greek (final sigma), Cyrillic
        "ΟΔΥΣΣΕΥΣ Οδυσσεύς ὀδυσσεύς",
        "Σ σ ς ΑΣ ΣΑ Ω Ω",
        "Ἐν ἀρχῇ ἦν ὁ λόγος, καὶ ὁ λόγος ἦν πρὸς τὸν θεόν",
        "В начале было Слово, и Слово было у Бога",
        "ЁЛКА ёлка Ё ё й Й",
        # CJK, kana, Hangul, CJK mixed with Latin
        "日本語のテキストです。",
        "中文文本，包括标点符号！",
        "Hello世界abc中文123",
        "神說：要有光，就有了光。God said",
        "こんにちは世界 カタカナ ﾊﾝｶｸｶﾀｶﾅ",
        "한국어 텍스트 안녕하세요 세계",
        "\U00020000\U0002a6d6 \U0002b820\U0002b91f \U0002b920 \U0002ceaf \U00031350 ext B/E/F/H ideographs",
        "\u3400\u4dbf \uf900\ufaff \U0002f800 \u2e80 \u2f00 \u3005 〇",
        # Other scripts
        "مرحبا بالعالم العربية",
        "שָׁלוֹם עוֹלָם",
        "สวัสดีชาวโลก",
        "नमस्ते दुनिया हिन्दी",
        "ＡＢＣ１２３！？ fullwidth",
        # Emoji
        "emoji 😀😃😄 🎉 ❤️ ❤ ✨",
        "family 👨‍👩‍👧‍👦 couple 👩‍❤️‍👨 ZWJ",
        "skin tones 👍🏻👍🏽👍🏿 👋🏾",
        "flags 🇩🇪🇯🇵🇺🇸 keycap 1️⃣ #️⃣",
        "🫨🪿 (Unicode 15) and 🫎",
        # Control and space characters
        "tab\tseparated\tvalues",
        "soh\x01 del\x7f bell\x07 esc\x1b",
        "zero\u200bwidth\u200bspace",
        "no\u00a0break\u00a0space and ideographic\u3000space",
        "thin\u2009space narrow\u202fnbsp em\u2003space",
        "soft\u00adhyphen word\u2060joiner zwj\u200dzwnj\u200c",
        "bom\ufeffinside and\ufffdreplacement",
        "vertical\x0btab form\x0cfeed unit\x1fsep",
        "\x00nul at start",
        "private use \ue000\U000f0000 and unassigned \u0378\U0003fffd",
        # Punctuation, symbols
        "!!!???... --- ,,, ;;; ::: ''' \"\"\"",
        "“smart quotes” ‘single’ «guillemets» „low“ — – … ¡¿",
        "(parens) [brackets] {braces} <angles>",
        "$100 #hashtag @user ^caret `backtick` ~tilde |pipe \\backslash _under_ %pct &amp *star* +plus =eq /slash",
        "a.b,c;d:e!f?g",
        "∑∫√∞≠≤≥ x² + y³ = z⁴ ½ ¼",
        "© ® ™ § ¶ † ‡ • ° € £ ¥ ¢",
        "...leading dots and trailing dots...",
        # Contractions
        "it's don't they're we've I'm you'll he'd",
        "IT'S DON'T THEY'RE WE'VE I'M YOU'LL HE'D",
        "It'S dOn'T 's 't 're 've 'm 'll 'd",
        "rock'n'roll o'clock y'all ma'am",
        "'s'''t'''re",
        "it’s (curly apostrophe) don’t",
        # Digits
        "0 1 12 123 1234 12345 123456789",
        "3.14159 1,000,000 2024-06-01 10:30 +44 (0)20",
        "٣٤٥ ४५६ ①②③ Ⅻ ⅷ ¹²³ 𝟙𝟚𝟛",
        "abc123def 123abc abc123",
        # Spaces
        "  two leading spaces",
        "two trailing spaces  ",
        "multiple   spaces    between     words",
        "   ",
        " ",
        "",
        "\t\tleading tabs",
        "x",
        # Long words (BERT's max_input_chars_per_word = 100)
        "a" * 100,
        "a" * 101,
        long_word,
        "short " + "b" * 150 + " after",
        "é" * 60 + " (60 accented letters: 120 code points before stripping)",
        "é" * 101,
        # Special tokens inside text
        "Hello <|endoftext|> world",
        "<|endoftext|><|endoftext|>",
        "<|endoftext|",
        "Hello [MASK] world [CLS] [SEP] [PAD] [UNK]",
        "[mask] lowercased is not special",
        "x[MASK]y",
        # Code-like and mixed
        "def f(x): return x**2  # comment",
        "https://example.com/path?q=1&r=two#frag",
        "user@example.com C++ C# F# .NET node.js",
        "snake_case camelCase PascalCase kebab-case SCREAMING_CASE",
        "He said \"Hello,\" and left.",
        # More marks, scripts and case
        "Tiếng Việt có dấu: Hà Nội, Đà Nẵng",
        "\u0301leading combining mark, a\u0300\u0301 two marks, ḱ ǘ",
        "Z\u0324\u0354\u0367\u0311\u0313a\u0308\u0356\u032d\u0308\u0307"
        "l\u036e\u0312\u036bg\u030c\u0317\u035a\u031ao zalgo",
        "مُحَمَّد with harakat, and بِسْمِ",
        "\u1100\u1161\u11a8 (conjoining jamo) vs 각 (syllable)",
        "ᲐᲑᲒ Georgian Mtavruli, ᎠᎡᎢ Cherokee, ǅungla",
        "STRAẞE ὈΔΥΣΣΕΎΣ ΣΊΣΥΦΟΣ",
        "abcдеф αβγabc 日本abc語 mixed-script words",
        "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𝟘𝟙𝟚 𝐁𝐨𝐥𝐝 mathematical alphanumerics",
        "Ⅷ ⅻ ½ ¾ ⁵ ₂ numbers that are not digits",
        # More emoji and invisible characters
        "☺\ufe0e ☺\ufe0f \ufe0f alone, 🏳️‍🌈 rainbow flag",
        "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f tag sequence",
        "rtl\u200fmark ltr\u200emark \u2066isolate\u2069 \u202aembedding\u202c",
        "info\x1cseparators\x1dthat\x1esplitlines\x1fbreaks on",
        "mongolian\u180evowel separator, word\u3000\u3000double ideographic space",
        "😀",
        "中",
        "'",
        "...",
        # More contractions, numbers, specials
        "She's 'Tis We'Re THAT'LL WOULDN'T've",
        "1st 2nd 3rd 4th -5 +6 $3.50 10% 1/2 1 000 000",
        "٠١٢٣ ０１２３ 〇一二三",
        "a<|endoftext|>b <|endoftext|> <|endoftext|>\t",
        "[CLS]x[SEP]y[PAD]z",
        "McDonald's iPhone eBay O'Neill D'Artagnan",
        "{\"key\": [1, 2.5, \"three\"], \"nested\": {\"a\": null}}",
        "back\\slash \\n not a newline \\t not a tab",
        "\tindented with a tab\t",
        "a" * 30 + " " + "!" * 30,
        # KJV-style text
        "Est8:9 Then were the king's scribes called at that time in the third month, that is, the month Sivan, "
        "on the three and twentieth day thereof; and it was written according to all that Mordecai commanded "
        "unto the Jews, and to the lieutenants, and the deputies and rulers of the provinces which are from "
        "India unto Ethiopia, an hundred twenty and seven provinces, unto every province according to the "
        "writing thereof, and unto every people after their language, and to the Jews according to their "
        "writing, and according to their language.",
        "Ge1:1 In the beginning God created the heaven and the earth.",
        "John11:35 Jesus wept.",
        "And God said, Let there be light: and there was light.",
        "AND GOD SAID, LET THERE BE LIGHT",
        "thee thou thy thine hath doth saith spake",
        "Re22:21 The grace of our Lord Jesus Christ be with you all. Amen.",
    ]


def random_lines(n, seed, usable):
    """Random valid UTF-8: code points from several planes, no surrogates and no line breaks, and only
    characters `usable` accepts (see UnicodeCheck)."""
    rng = random.Random(seed)
    pools = [  # (first, last, weight)
        (0x20, 0x7E, 4.0),  # ASCII printable
        (0x00, 0x1F, 0.3),  # C0 controls
        (0x7F, 0x9F, 0.3),  # DEL and C1 controls
        (0xA0, 0x24F, 2.0),  # Latin-1, Latin Extended
        (0x250, 0x2FFF, 3.0),  # IPA, Greek, Cyrillic, ..., Indic, symbols
        (0x3000, 0x9FFF, 2.0),  # CJK punctuation, kana, ideographs
        (0xA000, 0xD7FF, 1.0),  # Yi, Hangul syllables
        (0xE000, 0xFFFF, 1.0),  # private use, compatibility, halfwidth, specials
        (0x10000, 0x1FFFF, 2.0),  # plane 1
        (0x20000, 0x2FFFF, 1.0),  # plane 2
        (0x30000, 0x3FFFF, 0.5),  # plane 3
        (0xE0000, 0xE01EF, 0.3),  # tags, variation selectors
        (0xF0000, 0x10FFFF, 0.3),  # private use planes
    ]
    weights = [w for _, _, w in pools]
    banned = {0x0A, 0x0D, 0x85, 0x2028, 0x2029}
    lines = []
    for _ in range(n):
        chars = []
        for _ in range(rng.randint(1, 40)):
            if rng.random() < 0.15:
                chars.append(" ")
                continue
            while True:
                lo, hi, _w = rng.choices(pools, weights)[0]
                cp = rng.randint(lo, hi)
                if not (0xD800 <= cp <= 0xDFFF) and cp not in banned and usable(chr(cp)):
                    break
            chars.append(chr(cp))
        lines.append("".join(chars))
    return lines


def mixed_corpus(check):
    lines = handmade_lines() + random_lines(80, SEED_CORPUS, check.stable)
    for line in lines:
        assert not any(c in line for c in "\n\r\x85\u2028\u2029"), repr(line)
        line.encode("utf-8")  # no surrogates
    return lines


# ------------------------------------------------------------------------------------------------
# Reference tokenizers: the GPT-2 algorithm as the transformers 4 slow GPT2Tokenizer (and OpenAI's
# encoder.py) wrote it, since transformers 5 ships no slow GPT-2 tokenizer.

GPT2_PATTERN = regex.compile(r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+""")


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


class ReferenceGPT2:
    def __init__(self, vocab_json, merges_txt):
        self.encoder = json.loads(pathlib.Path(vocab_json).read_text(encoding="utf-8"))
        self.decoder = {v: k for k, v in self.encoder.items()}
        merges = pathlib.Path(merges_txt).read_text(encoding="utf-8").split("\n")
        assert merges[0].startswith("#version"), merges[0]
        merges = [tuple(m.split(" ")) for m in merges[1:] if m]
        self.ranks = {m: i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.byte_decoder = {v: k for k, v in self.byte_encoder.items()}
        self.cache = {}

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token)
        while len(word) > 1:
            pairs = set(zip(word, word[1:]))
            best = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if best not in self.ranks:
                break
            a, b = best
            out, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and word[i] == a and word[i + 1] == b:
                    out.append(a + b)
                    i += 2
                else:
                    out.append(word[i])
                    i += 1
            word = tuple(out)
        self.cache[token] = word
        return word

    def pretokens(self, text):
        return GPT2_PATTERN.findall(text)

    def encode(self, text):
        ids = []
        for k, part in enumerate(text.split(EOT)):
            if k:
                ids.append(self.encoder[EOT])
            for piece in self.pretokens(part):
                mapped = "".join(self.byte_encoder[b] for b in piece.encode("utf-8"))
                ids.extend(self.encoder[t] for t in self.bpe(mapped))
        return ids

    def decode(self, ids):
        text = "".join(self.decoder[i] for i in ids)
        return bytearray(self.byte_decoder[c] for c in text).decode("utf-8", errors="replace")


# ------------------------------------------------------------------------------------------------
# Unicode versions. `tokenizers` 0.23.3 classifies characters with tables of different Unicode
# versions: its Oniguruma (GPT-2's \p{L}, \p{N}, \s) knows Unicode 16.0, BertNormalizer's lowercase
# 17.0, but its general-category tables (BERT's control / punctuation / nonspacing-mark tests) and
# NFD are older than Unicode 9-13. Python's unicodedata here is 14.0, and so is the Oniguruma 6.9.8
# that nabla links. A character is "stable" when the tokenizers give it exactly the treatment that
# Unicode 14.0's tables and the rules written below (those of the fast tokenizers) give it, and it
# was not assigned or recategorised by Unicode 15-17 (per the `regex` module's tables). The random
# lines use stable characters only, so they test the algorithms and not a Unicode version; the
# hand-made lines that contain an unstable one are listed in tokenizer_ids.json.

FAST_CJK = ((0x4E00, 0x9FFF), (0x3400, 0x4DBF), (0x20000, 0x2A6DF), (0x2A700, 0x2B73F), (0x2B740, 0x2B81F),
            (0x2B920, 0x2CEAF), (0xF900, 0xFAFF), (0x2F800, 0x2FA1F))


def is_white_space(c):  # Unicode White_Space, as Rust's char::is_whitespace and Oniguruma's \s
    return bool(regex.fullmatch(r"\s", c))


def bert_normalize_14(c):
    """BertNormalizer(clean_text, handle_chinese_chars, strip_accents, lowercase) of one character."""
    cp, cat = ord(c), unicodedata.category(c)
    if cp in (0, 0xFFFD) or (c not in "\t\n\r" and cat in ("Cc", "Cf", "Co", "Cs")):
        return ""
    if c in "\t\n\r" or is_white_space(c):
        return " "
    s = f" {c} " if any(lo <= cp <= hi for lo, hi in FAST_CJK) else c
    s = "".join(x for x in unicodedata.normalize("NFD", s) if unicodedata.category(x) != "Mn")
    return "".join(x.lower() for x in s)  # per character: no final-sigma rule


def bert_class_14(c):
    """BertPreTokenizer: whitespace splits, punctuation is a word of its own."""
    cp = ord(c)
    if is_white_space(c):
        return "space"
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126 or unicodedata.category(c)[0] == "P":
        return "punct"
    return "other"


def gpt2_class_14(c):
    cat = unicodedata.category(c)
    return "L" if cat[0] == "L" else "N" if cat[0] == "N" else "s" if is_white_space(c) else "other"


class UnicodeCheck:
    def __init__(self, gpt2_tok, bert_tok):
        self.g_pre = gpt2_tok.backend_tokenizer.pre_tokenizer
        self.b_norm = bert_tok.backend_tokenizer.normalizer
        self.b_pre = bert_tok.backend_tokenizer.pre_tokenizer
        self.memo = {}

    def gpt2_class(self, c):
        pieces = lambda s: len(self.g_pre.pre_tokenize_str(s))  # noqa: E731
        if pieces("a" + c) == 1:
            return "L"
        if pieces("1" + c) == 1:
            return "N"
        return "other" if pieces("!" + c) == 1 else "s"

    def bert_class(self, c):
        words = [w for w, _ in self.b_pre.pre_tokenize_str(f"a{c}a")]
        return {("a", "a"): "space", ("a", c, "a"): "punct", (f"a{c}a",): "other"}.get(tuple(words), repr(words))

    @staticmethod
    def newer(c):
        """Assigned, or given another category, after Unicode 14.0."""
        cat = unicodedata.category(c)
        return not regex.fullmatch(r"\p{%s}" % cat, c)

    def unstable(self, c):
        """The tokenizers ("gpt2", "bert") for which `c` is not stable."""
        if c not in self.memo:
            out = set()
            if self.newer(c) or self.gpt2_class(c) != gpt2_class_14(c):
                out.add("gpt2")
            if self.newer(c) or self.b_norm.normalize_str(c) != bert_normalize_14(c) or \
                    self.bert_class(c) != bert_class_14(c):
                out.add("bert")
            self.memo[c] = out
        return self.memo[c]

    def stable(self, c):
        return not self.unstable(c)

    def unstable_lines(self, lines, name):
        return [i for i, line in enumerate(lines) if any(name in self.unstable(c) for c in set(line))]


# ------------------------------------------------------------------------------------------------
# Tokenizers


def train_tokenizers(kjv_lines):
    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(kjv_lines, vocab_size=VOCAB_SIZE, min_frequency=2, special_tokens=[EOT],
                            show_progress=False)
    gpt2_tok = GPT2TokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=EOT, eos_token=EOT, unk_token=EOT,
                                 add_prefix_space=False, model_max_length=64)

    # WordPiece training gives the continuation pieces of single characters ("##a", "##b", ...) their
    # ids in hash-map order, and merges of equal count are ordered by those ids, so the vocabulary
    # would change from run to run. Reserving those pieces up front, as special tokens of the trainer
    # (ids 5... in code point order), makes training deterministic; the tokenizer is then rebuilt
    # from the trained vocabulary with only the five real special tokens.
    normalizer = tokenizers.normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                       strip_accents=None, lowercase=True)
    pre = tokenizers.pre_tokenizers.BertPreTokenizer()
    continuation = sorted({"##" + c for line in kjv_lines
                           for w, _ in pre.pre_tokenize_str(normalizer.normalize_str(line)) for c in w[1:]})
    wp = BertWordPieceTokenizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
    wp.train_from_iterator(kjv_lines, vocab_size=VOCAB_SIZE, min_frequency=2,
                           special_tokens=BERT_SPECIALS + continuation,
                           initial_alphabet=sorted(set(BERT_EXTRA_ALPHABET)), show_progress=False)
    vocab = wp.get_vocab()
    assert [t for t in sorted(vocab, key=vocab.get)][:len(BERT_SPECIALS)] == BERT_SPECIALS
    tok = tokenizers.Tokenizer(tokenizers.models.WordPiece(vocab, unk_token="[UNK]", continuing_subword_prefix="##",
                                                           max_input_chars_per_word=100))
    tok.normalizer = normalizer
    tok.pre_tokenizer = pre
    tok.decoder = tokenizers.decoders.WordPiece(prefix="##", cleanup=True)
    tok.add_special_tokens(BERT_SPECIALS)
    bert_tok = BertTokenizerFast(tokenizer_object=tok, do_lower_case=True, strip_accents=None,
                                 tokenize_chinese_chars=True, model_max_length=64)
    return gpt2_tok, bert_tok


def save_tokenizer(tok, folder):
    tok.save_pretrained(folder)
    # transformers 5 writes tokenizer.json and tokenizer_config.json only; the legacy vocabulary files
    # (vocab.json + merges.txt, or vocab.txt), as the tokenizers model writes them, are added for
    # readers that prefer them.
    tok.backend_tokenizer.model.save(str(folder))


# ------------------------------------------------------------------------------------------------
# Models


def perturb(model, seed):
    """LayerNorm weights 1 + 0.1 N(0,1); every bias (LayerNorm, Linear/Conv1D, the MLM output bias)
    0.1 N(0,1), so a mistake in any of them shows in the outputs."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():  # tied parameters are listed once
            is_norm = "LayerNorm" in name or ".ln_" in name or name.startswith("ln_")
            if is_norm and name.endswith(".weight"):
                p.copy_(1.0 + 0.1 * torch.randn(p.shape, generator=g))
            elif name.endswith("bias"):
                p.copy_(0.1 * torch.randn(p.shape, generator=g))


def build_gpt2(vocab_size, eot_id):
    torch.manual_seed(SEED_GPT2)
    config = GPT2Config(vocab_size=vocab_size, n_layer=2, n_head=2, n_embd=32, n_positions=64,
                        bos_token_id=eot_id, eos_token_id=eot_id, initializer_range=0.3)
    model = GPT2LMHeadModel(config)
    perturb(model, SEED_GPT2 + 1)
    # A random model whose output layer is its input embedding tends to predict the token it was
    # given, so greedy decoding repeats one token; strong position embeddings make it wander (39
    # different tokens in 50), which tests the positions and the cache of a generation loop.
    with torch.no_grad():
        model.transformer.wpe.weight.mul_(10.0)
    return model.eval()


def bert_config(vocab_size, **extra):
    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                      intermediate_size=64, max_position_embeddings=64, type_vocab_size=2, pad_token_id=0,
                      initializer_range=0.1, **extra)


def build_bert(vocab_size):
    torch.manual_seed(SEED_BERT)
    model = BertForMaskedLM(bert_config(vocab_size))
    perturb(model, SEED_BERT + 1)
    return model.eval()


def build_classifier(vocab_size):
    torch.manual_seed(SEED_CLASSIFIER)
    labels = {0: "law", 1: "prophets", 2: "gospels"}
    config = bert_config(vocab_size, num_labels=3, id2label=labels, label2id={v: k for k, v in labels.items()})
    model = BertForSequenceClassification(config)
    perturb(model, SEED_CLASSIFIER + 1)
    return model.eval()


def safetensors_keys(path):
    with safe_open(str(path), "pt") as f:
        return {k: (f.get_slice(k).get_dtype(), f.get_slice(k).get_shape()) for k in f.keys()}


# ------------------------------------------------------------------------------------------------
# Expected outputs

GPT2_PROMPTS = [
    "In the beginning God created",
    "And God said, Let there be light: and there was light.",
]
BERT_BATCH = [
    "In the beginning was the Word, and the Word was with God, and the Word was God.",
    ("And God said, Let there be light:", "and there was light."),
    "Jesus wept.",
]
BERT_MASK = "And God said, Let there be [MASK]."
BERT_PAIRS = [
    ("In the beginning God created the heaven and the earth.", "And the earth was without form, and void."),
    ("Jesus wept.", "Then said the Jews, Behold how he loved him!"),
    ("Straße café 日本語 ΟΔΥΣΣΕΥΣ", "It's   DON'T\tstop\u00a0here…"),
]


def kjv_passage(kjv_lines):
    """The 60 tokens starting at John 1:1, lines joined by newlines as in kjv.txt."""
    start = next(i for i, line in enumerate(kjv_lines) if line.startswith("John1:1 "))
    return "\n".join(kjv_lines[start:start + 8])


def close(a, b, tol=2e-5):
    return torch.allclose(a, b, atol=tol, rtol=tol)


# Plain re-implementations from the saved tensors alone, checked against transformers below: the
# arithmetic a port has to reproduce, spelled out.


def load_tensors(folder):
    with safe_open(str(folder / "model.safetensors"), "pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}


def layer_norm(x, w, b, eps):
    mean = x.mean(-1, keepdim=True)
    var = ((x - mean) ** 2).mean(-1, keepdim=True)  # biased variance
    return (x - mean) / torch.sqrt(var + eps) * w + b


def attention(q, k, v, n_head, bias):
    """q, k, v [B, T, C] -> [B, T, C]; heads are consecutive slices of C; `bias` [B, 1, T, T] is added
    to the scores q.k / sqrt(head_dim) before the softmax."""
    B, T, C = q.shape
    split = lambda x: x.view(B, T, n_head, C // n_head).transpose(1, 2)  # noqa: E731
    scores = split(q) @ split(k).transpose(-1, -2) / math.sqrt(C // n_head) + bias
    return (scores.softmax(-1) @ split(v)).transpose(1, 2).reshape(B, T, C)


def manual_gpt2(t, ids, cfg):
    """ids [B, T] -> (logits [B, T, V], last hidden state after ln_f)."""
    T = ids.shape[1]
    x = t["transformer.wte.weight"][ids] + t["transformer.wpe.weight"][torch.arange(T)]
    causal = torch.full((T, T), torch.finfo(torch.float32).min).triu(1)[None, None]
    gelu_new = lambda u: 0.5 * u * (1 + torch.tanh(math.sqrt(2 / math.pi) * (u + 0.044715 * u ** 3)))  # noqa: E731
    eps, C = cfg.layer_norm_epsilon, cfg.n_embd
    for i in range(cfg.n_layer):
        p = lambda n: t[f"transformer.h.{i}.{n}"]  # noqa: E731
        h = layer_norm(x, p("ln_1.weight"), p("ln_1.bias"), eps)
        qkv = h @ p("attn.c_attn.weight") + p("attn.c_attn.bias")  # Conv1D: weight [in, out]
        a = attention(qkv[..., :C], qkv[..., C:2 * C], qkv[..., 2 * C:], cfg.n_head, causal)
        x = x + a @ p("attn.c_proj.weight") + p("attn.c_proj.bias")
        h = layer_norm(x, p("ln_2.weight"), p("ln_2.bias"), eps)
        x = x + gelu_new(h @ p("mlp.c_fc.weight") + p("mlp.c_fc.bias")) @ p("mlp.c_proj.weight") + p("mlp.c_proj.bias")
    x = layer_norm(x, t["transformer.ln_f.weight"], t["transformer.ln_f.bias"], eps)
    return x @ t["transformer.wte.weight"].T, x  # lm_head is tied to wte and has no bias


def manual_bert(t, ids, token_type_ids, attention_mask, cfg):
    """-> (last hidden state, MLM logits or None, pooled output or None)."""
    B, T = ids.shape
    gelu = lambda u: 0.5 * u * (1 + torch.erf(u / math.sqrt(2)))  # noqa: E731
    lin = lambda x, n: x @ t[n + ".weight"].T + t[n + ".bias"]  # noqa: E731  nn.Linear: weight [out, in]
    ln = lambda x, n: layer_norm(x, t[n + ".weight"], t[n + ".bias"], cfg.layer_norm_eps)  # noqa: E731
    e = "bert.embeddings."
    x = t[e + "word_embeddings.weight"][ids] + t[e + "token_type_embeddings.weight"][token_type_ids] + \
        t[e + "position_embeddings.weight"][torch.arange(T)]
    x = ln(x, e + "LayerNorm")
    # Padding keys get the float32 minimum added (eager); the SDPA path masks them out, same result.
    bias = torch.where(attention_mask[:, None, None, :].bool(), 0.0, torch.finfo(torch.float32).min)
    for i in range(cfg.num_hidden_layers):
        p = f"bert.encoder.layer.{i}."
        a = attention(lin(x, p + "attention.self.query"), lin(x, p + "attention.self.key"),
                      lin(x, p + "attention.self.value"), cfg.num_attention_heads, bias)
        x = ln(lin(a, p + "attention.output.dense") + x, p + "attention.output.LayerNorm")  # post-LN
        x = ln(lin(gelu(lin(x, p + "intermediate.dense")), p + "output.dense") + x, p + "output.LayerNorm")
    logits = pooled = None
    if "cls.predictions.bias" in t:
        h = ln(gelu(lin(x, "cls.predictions.transform.dense")), "cls.predictions.transform.LayerNorm")
        logits = h @ t[e + "word_embeddings.weight"].T + t["cls.predictions.bias"]
    if "bert.pooler.dense.weight" in t:
        pooled = torch.tanh(lin(x[:, 0], "bert.pooler.dense"))
    return x, logits, pooled


def gpt2_expected(model, tok, kjv_lines, report):
    out = {}
    passage_ids = tok(kjv_passage(kjv_lines), add_special_tokens=False)["input_ids"][:60]
    prompts = [tok(p, add_special_tokens=False)["input_ids"] for p in GPT2_PROMPTS] + [passage_ids]
    report["gpt2_prompt_lengths"] = [len(p) for p in prompts]
    report["gpt2_prompt_texts"] = GPT2_PROMPTS + [tok.decode(passage_ids)]
    eager = GPT2LMHeadModel.from_pretrained(GPT2_DIR, attn_implementation="eager").eval()
    tensors = load_tensors(GPT2_DIR)
    with torch.no_grad():
        for n, ids in enumerate(prompts):
            x = torch.tensor([ids])
            res = model(x, output_hidden_states=True)
            out[f"gpt2.ids.{n}"] = x[0]
            out[f"gpt2.logits.{n}"] = res.logits[0]
            assert close(res.logits, eager(x).logits), "sdpa and eager attention disagree"
            manual_logits, manual_last = manual_gpt2(tensors, x, model.config)
            assert close(res.logits, manual_logits, 1e-4) and close(res.hidden_states[-1], manual_last, 1e-4)
            if n == 0:
                last = model.transformer(x).last_hidden_state[0]
                out["gpt2.hidden.0"] = last
                for i, h in enumerate(res.hidden_states):
                    out[f"gpt2.hidden_states.0.{i}"] = h[0]
                report["gpt2_hidden_states_last_is_after_ln_f"] = bool(torch.equal(res.hidden_states[-1][0], last))
        # Greedy generation from prompt 0, checked against a cache-free argmax loop.
        x = torch.tensor([prompts[0]])
        gen = model.generate(x, attention_mask=torch.ones_like(x), do_sample=False, max_new_tokens=50,
                             pad_token_id=model.config.eos_token_id)
        new = gen[0, x.shape[1]:]
        seq, margins = list(prompts[0]), []
        for _ in range(50):
            logits = eager(torch.tensor([seq])).logits[0, -1]
            top = torch.topk(logits, 2).values
            margins.append(float(top[0] - top[1]))
            seq.append(int(logits.argmax()))
            if seq[-1] == model.config.eos_token_id:
                break
        assert seq[len(prompts[0]):] == new.tolist(), (seq, new)
        assert min(margins) > 1e-3, margins  # far above float32 noise: a faithful port reproduces it
        out["gpt2.greedy.0"] = new
        report["gpt2_greedy"] = {"new_tokens": len(new), "stopped_at_eos": model.config.eos_token_id in new.tolist(),
                                 "min_top2_logit_margin": min(margins), "text": tok.decode(new)}
    return out


def bert_expected(mlm, cls, tok, report):
    out = {}
    eager = BertForMaskedLM.from_pretrained(BERT_DIR, attn_implementation="eager").eval()
    enc = tok(BERT_BATCH, padding=True, return_tensors="pt")
    report["bert_batch_tokens"] = [tok.convert_ids_to_tokens(r) for r in enc["input_ids"].tolist()]
    report["bert_padding_side"] = tok.padding_side
    with torch.no_grad():
        base = mlm.bert(**enc, output_hidden_states=True)
        logits = mlm(**enc).logits
        assert close(logits, eager(**enc).logits), "sdpa and eager attention disagree"
        out["bert.input_ids"] = enc["input_ids"]
        out["bert.token_type_ids"] = enc["token_type_ids"]
        out["bert.attention_mask"] = enc["attention_mask"]
        out["bert.last_hidden_state"] = base.last_hidden_state
        for i, h in enumerate(base.hidden_states):
            out[f"bert.hidden_states.{i}"] = h
        out["bert.mlm_logits"] = logits
        report["bert_mlm_has_pooler"] = mlm.bert.pooler is not None

        m = tok(BERT_MASK, return_tensors="pt")
        out["bert.mask.ids"] = m["input_ids"]
        out["bert.mask.logits"] = mlm(**m).logits
        pos = m["input_ids"][0].tolist().index(tok.mask_token_id)
        top = out["bert.mask.logits"][0, pos].topk(5).indices.tolist()
        report["bert_mask_top5"] = tok.convert_ids_to_tokens(top)

        c = cls(**enc, output_hidden_states=True)
        cb = cls.bert(**enc)
        out["classifier.last_hidden_state"] = cb.last_hidden_state
        out["classifier.pooler_output"] = cb.pooler_output
        out["classifier.logits"] = c.logits
        m_last, m_logits, _ = manual_bert(load_tensors(BERT_DIR), enc["input_ids"], enc["token_type_ids"],
                                          enc["attention_mask"], mlm.config)
        assert close(m_last, base.last_hidden_state, 1e-4) and close(m_logits, logits, 1e-4)
        c_last, _, c_pooled = manual_bert(load_tensors(CLS_DIR), enc["input_ids"], enc["token_type_ids"],
                                          enc["attention_mask"], cls.config)
        c_logits = c_pooled @ cls.classifier.weight.T + cls.classifier.bias  # dropout is identity in eval
        assert close(c_last, cb.last_hidden_state, 1e-4) and close(c_pooled, cb.pooler_output, 1e-4)
        assert close(c_logits, c.logits, 1e-4)
        report["max_abs_diff_manual"] = {
            "bert_last_hidden": float((m_last - base.last_hidden_state).abs().max()),
            "bert_mlm_logits": float((m_logits - logits).abs().max()),
            "classifier_logits": float((c_logits - c.logits).abs().max())}
        report["classifier_predictions"] = [cls.config.id2label[i] for i in c.logits.argmax(-1).tolist()]
    return out


# ------------------------------------------------------------------------------------------------
# Tokenizer goldens


def fnv1a64_chunks(ids, chunk):
    """FNV-1a 64 over each chunk's ids as little-endian int64 bytes, all chunks at once."""
    ids = np.asarray(ids, dtype="<i8")
    n_chunks = (len(ids) + chunk - 1) // chunk
    padded = np.zeros(n_chunks * chunk, dtype="<i8")
    padded[:len(ids)] = ids
    data = padded.view(np.uint8).reshape(n_chunks, chunk * 8)
    lengths = np.full(n_chunks, chunk * 8)
    lengths[-1] = (len(ids) - (n_chunks - 1) * chunk) * 8
    h = np.full(n_chunks, 0xCBF29CE484222325, dtype=np.uint64)
    prime = np.uint64(0x100000001B3)
    with np.errstate(over="ignore"):
        for j in range(chunk * 8):
            live = j < lengths
            nh = (h ^ data[:, j].astype(np.uint64)) * prime
            h = np.where(live, nh, h)
    return [f"{int(v):016x}" for v in h]


def fnv1a64_python(ids):
    h = 0xCBF29CE484222325
    for b in struct.pack(f"<{len(ids)}q", *ids):
        h = ((h ^ b) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"{h:016x}"


def tokenizer_goldens(gpt2, bert, lines, report):
    ref = ReferenceGPT2(GPT2_DIR / "vocab.json", GPT2_DIR / "merges.txt")
    slow = BertTokenizerLegacy(str(BERT_DIR / "vocab.txt"), do_lower_case=True, tokenize_chinese_chars=True,
                               strip_accents=None)
    out = {"lines": len(lines), "gpt2": [], "gpt2_decoded": [], "gpt2_pretokens": [],
           "bert": [], "bert_decoded": [], "bert_normalized": [], "bert_pretokens": [],
           "bert_slow": [], "bert_pairs": []}
    diffs = {"gpt2_ids": [], "gpt2_pretokens": [], "gpt2_decode": [], "bert_ids": [], "bert_basic_tokens": [],
             "bert_decode": []}
    pre_g = gpt2.backend_tokenizer.pre_tokenizer
    norm_b = bert.backend_tokenizer.normalizer
    pre_b = bert.backend_tokenizer.pre_tokenizer
    for i, line in enumerate(lines):
        ids = gpt2(line, add_special_tokens=False)["input_ids"]
        dec = gpt2.decode(ids)
        out["gpt2"].append(ids)
        out["gpt2_decoded"].append(dec)
        splits = [line[a:b] for _, (a, b) in pre_g.pre_tokenize_str(line)]
        out["gpt2_pretokens"].append(splits)
        if dec != line:
            diffs["gpt2_decode"].append(i)
        if ref.encode(line) != ids:
            diffs["gpt2_ids"].append(i)
        if ref.pretokens(line) != splits:
            diffs["gpt2_pretokens"].append(i)
        if ref.decode(ids) != dec:
            diffs["gpt2_decode"].append(i)

        ids = bert(line, add_special_tokens=False)["input_ids"]
        out["bert"].append(ids)
        out["bert_decoded"].append(bert.decode(ids))
        normalized = norm_b.normalize_str(line)
        out["bert_normalized"].append(normalized)
        out["bert_pretokens"].append([w for w, _ in pre_b.pre_tokenize_str(normalized)])
        slow_ids = slow(line, add_special_tokens=False)["input_ids"]
        out["bert_slow"].append(slow_ids)
        if slow_ids != ids:
            diffs["bert_ids"].append(i)
        basic = slow.basic_tokenizer.tokenize(line, never_split=slow.all_special_tokens)
        fast_words = [w for w, _ in bert.backend_tokenizer.pre_tokenizer.pre_tokenize_str(normalized)]
        if basic != fast_words and not any(s in line for s in BERT_SPECIALS):
            diffs["bert_basic_tokens"].append(i)
        if slow.decode(slow_ids) != bert.decode(ids):
            diffs["bert_decode"].append(i)
    for a, b in BERT_PAIRS:
        e = bert(a, b)
        s = slow(a, b, return_token_type_ids=True)  # the legacy class does not return them by default
        assert e["input_ids"] == s["input_ids"] and e["token_type_ids"] == s["token_type_ids"], (a, b)
        out["bert_pairs"].append({"a": a, "b": b, "input_ids": e["input_ids"], "token_type_ids": e["token_type_ids"],
                                  "attention_mask": e["attention_mask"]})
    report["slow_vs_fast_differences"] = {k: v for k, v in diffs.items()}
    report["slow_vs_fast_examples"] = {
        "bert": [{"line": i, "text": lines[i], "fast": bert.convert_ids_to_tokens(out["bert"][i]),
                  "slow": slow.convert_ids_to_tokens(out["bert_slow"][i]),
                  "fast_normalized": out["bert_normalized"][i],
                  "slow_basic": slow.basic_tokenizer.tokenize(lines[i], never_split=slow.all_special_tokens)}
                 for i in sorted(set(diffs["bert_ids"] + diffs["bert_basic_tokens"]))],
        "gpt2": [{"line": i, "text": lines[i], "fast": out["gpt2_pretokens"][i], "reference": ref.pretokens(lines[i])}
                 for i in sorted(set(diffs["gpt2_pretokens"] + diffs["gpt2_ids"]))],
    }
    return out, ref, slow


def kjv_goldens(gpt2, bert, ref, slow, text, report):
    lines = text.split("\n")
    assert lines[-1] == ""
    lines = lines[:-1]
    out = {"file_sha256": hashlib.sha256(text.encode("utf-8")).hexdigest(), "file_bytes": len(text.encode("utf-8"))}
    nl = gpt2("\n", add_special_tokens=False)["input_ids"]
    for name, tok in (("gpt2", gpt2), ("bert", bert)):
        ids = tok(text, add_special_tokens=False)["input_ids"]
        hashes = fnv1a64_chunks(ids, KJV_CHUNK)
        assert hashes[0] == fnv1a64_python(ids[:KJV_CHUNK]) and hashes[-1] == fnv1a64_python(
            ids[(len(hashes) - 1) * KJV_CHUNK:])
        out[name] = {"count": len(ids), "chunk": KJV_CHUNK, "fnv1a64": hashes, "head": ids[:HEAD]}
        per_line = tok(lines, add_special_tokens=False)["input_ids"]
        if name == "gpt2":
            joined = [t for line_ids in per_line for t in line_ids + nl]
            report["kjv_gpt2_whole_equals_lines_joined_by_newline_ids"] = joined == ids
            report["kjv_gpt2_newline_ids"] = nl
            report["kjv_gpt2_reference_equal"] = ref.encode(text) == ids
        else:
            joined = [t for line_ids in per_line for t in line_ids]
            report["kjv_bert_whole_equals_lines_concatenated"] = joined == ids
            report["kjv_bert_slow_equal"] = slow(text, add_special_tokens=False)["input_ids"] == ids
        report[f"kjv_{name}_count"] = len(ids)
    return out


# ------------------------------------------------------------------------------------------------


def reload_checks(gpt2_tok, bert_tok, lines, report):
    """The saved folders must load back to tokenizers that give the same ids, also from the legacy
    vocabulary files alone (no tokenizer.json)."""
    g = AutoTokenizer.from_pretrained(GPT2_DIR)
    b = AutoTokenizer.from_pretrained(BERT_DIR)
    c = AutoTokenizer.from_pretrained(CLS_DIR)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = pathlib.Path(tmp)
        for f in ("vocab.json", "merges.txt", "tokenizer_config.json"):
            shutil.copy(GPT2_DIR / f, tmp / f)
        g_legacy = AutoTokenizer.from_pretrained(tmp)
    for line in lines:
        a = gpt2_tok(line, add_special_tokens=False)["input_ids"]
        assert a == g(line, add_special_tokens=False)["input_ids"], line
        report.setdefault("gpt2_legacy_files_differ", [])
        if a != g_legacy(line, add_special_tokens=False)["input_ids"]:
            report["gpt2_legacy_files_differ"].append(line)
        a = bert_tok(line)["input_ids"]
        assert a == b(line)["input_ids"] == c(line)["input_ids"], line
    report["reloaded_tokenizer_types"] = [type(g).__name__, type(b).__name__]
    return g, b


def main():
    torch.set_num_threads(1)
    kjv = kjv_path()
    text = kjv.read_text(encoding="utf-8")
    kjv_lines = [line for line in text.split("\n") if line]
    report = {"versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                           "transformers": transformers.__version__, "tokenizers": tokenizers.__version__,
                           "safetensors": safetensors.__version__, "numpy": np.__version__,
                           "unicodedata": unicodedata.unidata_version}}

    for d in (GPT2_DIR, BERT_DIR, CLS_DIR):
        shutil.rmtree(d, ignore_errors=True)
        d.mkdir(parents=True)

    gpt2_tok, bert_tok = train_tokenizers(kjv_lines)
    save_tokenizer(gpt2_tok, GPT2_DIR)
    save_tokenizer(bert_tok, BERT_DIR)
    save_tokenizer(bert_tok, CLS_DIR)

    eot_id = gpt2_tok.convert_tokens_to_ids(EOT)
    models = {GPT2_DIR: build_gpt2(len(gpt2_tok), eot_id), BERT_DIR: build_bert(len(bert_tok)),
              CLS_DIR: build_classifier(len(bert_tok))}
    for folder, model in models.items():
        model.save_pretrained(folder)
        normalise_config_json(folder)

    check = UnicodeCheck(gpt2_tok, bert_tok)
    lines = mixed_corpus(check)
    write_text(HERE / "mixed_corpus.txt", "".join(line + "\n" for line in lines))
    assert (HERE / "mixed_corpus.txt").read_text(encoding="utf-8").split("\n")[:-1] == lines
    # Random text over every plane with no care for Unicode versions (letters new in 15.0 / 16.0
    # included): nabla's tables come from tokenizers itself, so these must agree too.
    any_lines = random_lines(80, SEED_CORPUS + 1, lambda c: True)
    write_text(HERE / "any_unicode.txt", "".join(line + "\n" for line in any_lines))
    any_ids = {
        "gpt2": [gpt2_tok(line, add_special_tokens=False)["input_ids"] for line in any_lines],
        "bert": [bert_tok(line, add_special_tokens=False)["input_ids"] for line in any_lines],
    }
    any_ids["gpt2_decoded"] = [gpt2_tok.decode(ids) for ids in any_ids["gpt2"]]
    any_ids["bert_decoded"] = [bert_tok.decode(ids) for ids in any_ids["bert"]]
    write_text(HERE / "any_unicode_ids.json", dumps_rows(any_ids))

    # Everything below uses the folders as loaded back, as a user (or nabla) would read them.
    gpt2, bert = reload_checks(gpt2_tok, bert_tok, lines, report)
    gpt2_model = GPT2LMHeadModel.from_pretrained(GPT2_DIR).eval()
    bert_model = BertForMaskedLM.from_pretrained(BERT_DIR).eval()
    cls_model = BertForSequenceClassification.from_pretrained(CLS_DIR).eval()
    for loaded, built in zip((gpt2_model, bert_model, cls_model), models.values()):
        a, b = loaded.state_dict(), built.state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a), "reload changed the weights"
    report["attn_implementation"] = gpt2_model.config._attn_implementation

    expected = {}
    expected.update(gpt2_expected(gpt2_model, gpt2, kjv_lines, report))
    expected.update(bert_expected(bert_model, cls_model, bert, report))
    expected = {k: (v.to(torch.int64) if not v.is_floating_point() else v.to(torch.float32)) for k, v in
                sorted(expected.items())}
    save_safetensors(expected, HERE / "expected.safetensors",
                     metadata={"generator": "tests/golden/pretrained/make_pretrained_golden.py",
                               "transformers": transformers.__version__, "torch": torch.__version__.split("+")[0]})

    tok_out, ref, slow = tokenizer_goldens(gpt2, bert, lines, report)
    tok_out["unicode_unstable_lines"] = {name: check.unstable_lines(lines, name) for name in ("gpt2", "bert")}
    report["unicode_unstable_chars"] = {
        name: sorted({f"U+{ord(c):04X}" for line in lines for c in line if name in check.unstable(c)})
        for name in ("gpt2", "bert")}
    write_text(HERE / "tokenizer_ids.json", dumps_rows(tok_out))
    kjv_out = kjv_goldens(gpt2, bert, ref, slow, text, report)
    write_text(HERE / "kjv_ids.json", dumps_rows(kjv_out))

    report["model_keys"] = {d.name: {k: [dt, shape] for k, (dt, shape) in
                                     sorted(safetensors_keys(d / "model.safetensors").items())}
                            for d in (GPT2_DIR, BERT_DIR, CLS_DIR)}
    report["expected_keys"] = {k: [str(v.dtype).replace("torch.", ""), list(v.shape)] for k, v in expected.items()}
    sizes = {str(p.relative_to(HERE)): p.stat().st_size for p in sorted(HERE.rglob("*")) if p.is_file()}
    report["sizes"] = sizes
    report["total_bytes"] = sum(sizes.values())
    if "--report" in sys.argv:
        print(json.dumps(report, ensure_ascii=False, indent=1))
    else:
        print(f"wrote {len(sizes)} files, {report['total_bytes']} bytes, under {HERE}")


if __name__ == "__main__":
    main()
