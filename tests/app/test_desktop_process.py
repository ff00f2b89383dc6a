"""`hearth` as a program: it opens the window, starts its engine, and a signal to it (Ctrl-C,
logout, kill) closes the window and stops that engine instead of leaving it behind."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import engine_env


def test_a_terminated_desktop_stops_the_engine_it_started(tmp_path: Path) -> None:
    env = engine_env(tmp_path)
    env.update(QT_QPA_PLATFORM="offscreen", DISPLAY=":0", XDG_CONFIG_HOME=str(tmp_path / "xdg"))
    app = subprocess.Popen([sys.executable, "-m", "app.cli"], env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)  # fmt: skip
    connection = tmp_path / "run" / "engine.json"
    deadline = time.monotonic() + 120
    while not connection.exists():
        assert app.poll() is None, app.communicate()[1][-2000:]
        assert time.monotonic() < deadline, "the desktop did not start an engine"
        time.sleep(0.2)
    engine_pid = json.loads(connection.read_text())["pid"]
    # At once: the engine is up, the window may still be connecting to it; either way it goes.
    app.send_signal(signal.SIGTERM)
    _out, err = app.communicate(timeout=60)
    assert app.returncode == 0, err[-2000:]
    assert "terminal chat" not in err
    assert not connection.exists()
    deadline = time.monotonic() + 10
    while _alive(engine_pid):
        assert time.monotonic() < deadline, "the engine outlived the desktop"
        time.sleep(0.1)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (exited, not yet reaped by its parent) counts as gone.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"
