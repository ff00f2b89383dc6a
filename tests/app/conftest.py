"""Qt runs offscreen in the tests (no display needed); each test's desktop settings are its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.desktop_harness import Windows

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _private_qsettings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # QSettings (the UI language) would otherwise write to the developer's own config folder.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture
def windows(qtbot: object) -> Iterator[Windows]:
    """Windows a test opens; each is closed (workers joined, its engine stopped) at the end."""
    opened = Windows(qtbot)
    yield opened
    opened.close_all()
