"""Helpers shared by the golden-file generators: per-case seeds and reproducible safetensors files."""

import json
import struct
import zlib

from safetensors.torch import save


def case_seed(name):
    """A seed from the case name, so adding a case never changes the others."""
    return zlib.crc32(name.encode())


def save_file(tensors, path, metadata):
    """safetensors.torch.save_file, but with the JSON header's keys sorted: the library writes the
    metadata map in hash order, which would make every rerun show up as a change in git."""
    blob = save(tensors, metadata=metadata)
    (header_len,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + header_len])
    text = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keep the data section 8-byte aligned, as the library does
    path.write_bytes(struct.pack("<Q", len(text)) + text + blob[8 + header_len:])


def write_cases(cases, build, data_dir):
    """Writes one file per case (`build(case)` gives its tensors and metadata) after checking the names
    are unique and removing files left by older runs; returns the total bytes written."""
    names = [c["name"] for c in cases]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, f"duplicate case names: {duplicates}"
    data_dir.mkdir(parents=True, exist_ok=True)
    for stale in data_dir.glob("*.safetensors"):
        stale.unlink()
    for case in cases:
        tensors, metadata = build(case)
        save_file(tensors, data_dir / f"{case['name']}.safetensors", metadata)
    return sum(p.stat().st_size for p in data_dir.glob("*.safetensors"))
