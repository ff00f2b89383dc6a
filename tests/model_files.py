"""Where the tests find the models the set-up installs for them (scripts/test_models.py)."""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from test_models import QWEN, default_folder  # noqa: E402

QWEN_ID = Path(QWEN).stem.lower()


def tool_model_dir() -> Path:
    """The folder holding the tool-calling model; `make test` installs it."""
    folder = default_folder()
    if not (folder / QWEN).is_file():
        raise AssertionError(f"{QWEN} is missing: run `make test` (scripts/test_models.py)")
    return folder
