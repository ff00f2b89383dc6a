"""A real Secret Service for tests: gnome-keyring-daemon on a private D-Bus session bus."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def private_secret_service(home: Path) -> Iterator[dict[str, str]]:
    """The environment that reaches it, while it runs (this process's own environment points
    at it too, for keyring calls made here); both are ended and restored afterwards."""
    bus = subprocess.run(
        ["dbus-daemon", "--session", "--fork", "--print-address=1", "--print-pid=1"],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    address, pid = bus.stdout.split()[:2]
    env = {**os.environ, "DBUS_SESSION_BUS_ADDRESS": address, "HOME": str(home)}
    env.pop("XDG_RUNTIME_DIR", None)
    # In the foreground the daemon stays our child, so the test ends exactly what it started.
    daemon = subprocess.Popen(
        ["gnome-keyring-daemon", "--unlock", "--components=secrets", "--foreground"],
        stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )  # fmt: skip
    assert daemon.stdin is not None
    daemon.stdin.write(b"test-login-password")
    daemon.stdin.close()
    old = {k: os.environ.get(k) for k in ("DBUS_SESSION_BUS_ADDRESS", "HOME")}
    os.environ.update(DBUS_SESSION_BUS_ADDRESS=address, HOME=str(home))
    try:
        _wait_until_it_answers(daemon, home)
        yield env
    finally:
        for key, value in old.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        daemon.terminate()
        daemon.wait(10)
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(pid), signal.SIGTERM)


def _wait_until_it_answers(
    daemon: subprocess.Popen[bytes], home: Path, timeout: float = 30
) -> None:
    """Poll the Secret Service (the daemon takes its bus name a moment after it starts). Not
    before the daemon has made the login keyring from the password it was given: asked
    earlier, it tries to prompt for a new collection, which nobody answers."""
    from keyring.backends import SecretService

    from engine.security.keystore import KeyringStore, KeyStoreUnavailable

    deadline = time.monotonic() + timeout
    login = home / ".local" / "share" / "keyrings" / "login.keyring"
    while not login.exists() and time.monotonic() < deadline - 10:
        assert daemon.poll() is None, "gnome-keyring-daemon exited"
        time.sleep(0.1)
    while True:
        try:
            KeyringStore(timeout=5, backend=SecretService.Keyring()).probe()
            return
        except KeyStoreUnavailable:
            assert daemon.poll() is None, "gnome-keyring-daemon exited"
            assert time.monotonic() < deadline, "the Secret Service never answered"
            time.sleep(0.1)
