"""Qt runs offscreen in the tests (no display needed); each test's desktop settings are its own."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _private_qsettings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # QSettings (the UI language) would otherwise write to the developer's own config folder.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
