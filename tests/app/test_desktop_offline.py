"""The desktop app offline: every page, a dropped recording and the engine it starts, inside a
network namespace with only loopback, with every Python connect of both processes recorded."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.egress_log import OFFLINE, attempts, outside_loopback

ROOT = Path(__file__).resolve().parents[2]


def test_the_desktop_works_with_no_network_and_connects_only_to_loopback(tmp_path: Path) -> None:
    log = tmp_path / "egress.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(
        QT_QPA_PLATFORM="offscreen",
        XDG_CONFIG_HOME=str(tmp_path / "xdg"),
        PYTHONPATH=str(ROOT / "tests" / "egress"),  # the guard, in the window's and the engine's
        HEARTH_EGRESS_LOG=str(log),
    )
    shots = tmp_path / "shots"
    done = subprocess.run(
        [*OFFLINE, sys.executable, str(ROOT / "scripts" / "screenshots.py"), str(shots),
         "--light-only"],  # every page once (test_screenshots renders all twelve)
        capture_output=True, text=True, timeout=300, env=env, cwd=ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert len(list(shots.glob("*.png"))) == 7  # every page
    events = {event for event, _target in attempts(log)}
    assert "socket.connect" in events, "the guard saw no connection at all: it is not working"
    assert outside_loopback(log) == []
