"""Qt runs offscreen in the tests (no display needed); each test's desktop settings are its own."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app.desktop_harness import Windows
from tests.conftest import DEFAULT_MODEL, RunningEngine
from tests.model_tokens import never_ends
from tests.virtual_mic import VirtualMicrophones

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


@pytest.fixture(autouse=True)
def _private_qsettings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # QSettings (the UI language) would otherwise write to the developer's own config folder.
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))


@pytest.fixture(scope="session", autouse=True)
def microphones(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VirtualMicrophones]:
    """A private PulseAudio server for every desktop test, started before Qt Multimedia first
    looks for one (it connects once per process): the window's microphone list is this server's
    virtual microphones, and no test records from, or plays to, the machine's own audio."""
    mics = VirtualMicrophones(tmp_path_factory.mktemp("pulse"))
    mics.start()
    previous = os.environ.get("PULSE_SERVER")
    os.environ["PULSE_SERVER"] = mics.server
    yield mics
    mics.stop()
    if previous is None:
        os.environ.pop("PULSE_SERVER", None)
    else:
        os.environ["PULSE_SERVER"] = previous


@pytest.fixture
def windows(qtbot: object) -> Iterator[Windows]:
    """Windows a test opens; each is closed (workers joined, its engine stopped) at the end."""
    opened = Windows(qtbot)
    yield opened
    opened.close_all()


@pytest.fixture
def endless(engine_server: RunningEngine) -> Iterator[str]:
    """A custom model of the default one that cannot end a reply by itself (a logit bias
    against its end tokens), so a reply is certainly still streaming when it is stopped."""
    with engine_server.client() as client:
        made = client.create_custom_model(
            id="endless", base=DEFAULT_MODEL, parameters={"logit_bias": never_ends()}
        )
        try:
            yield str(made["id"])
        finally:
            client.remove_model("endless")
