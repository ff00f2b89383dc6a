"""Finding a running engine, or starting one as a child process and stopping it again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from app.engine_client.client import EngineClient
from app.engine_client.errors import EngineError, EngineUnavailable
from engine.schemas import TOKEN_ENV, URL_ENV

READY_PREFIX = "Hearth engine listening on "


@dataclass(frozen=True)
class Connection:
    url: str | None
    token: str


def engine_command(*args: str) -> list[str]:
    if getattr(sys, "frozen", False):  # the packaged folder: the engine is our sibling program
        name = "hearth-engine.exe" if sys.platform == "win32" else "hearth-engine"
        return [str(Path(sys.executable).with_name(name)), *args]
    return [sys.executable, "-m", "engine", *args]


def find_connection(env: dict[str, str] | None = None) -> Connection:
    """The API token and, when one runs, the engine's URL (environment first, then the engine's
    own files). Never asks for anything: the token is not a key-store secret."""
    env = dict(os.environ if env is None else env)
    if env.get(URL_ENV) and env.get(TOKEN_ENV):
        return Connection(url=env[URL_ENV], token=env[TOKEN_ENV])
    done = subprocess.run(
        engine_command("connection"),
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        stdin=subprocess.DEVNULL,
    )
    if done.returncode != 0:
        lines = done.stderr.strip().splitlines()
        raise EngineError(lines[-1] if lines else "the engine could not say how to reach it")
    info = json.loads(done.stdout)
    return Connection(
        url=env.get(URL_ENV) or info.get("url"), token=env.get(TOKEN_ENV) or info["token"]
    )


class EngineProcess:
    """An engine started by this program; `stop()` ends it (and only it)."""

    def __init__(self, env: dict[str, str] | None = None, extra_args: tuple[str, ...] = ()) -> None:
        self._env = dict(os.environ if env is None else env)
        self._args = extra_args
        self.process: subprocess.Popen[str] | None = None
        self.url: str | None = None
        self.log: list[str] = []
        self._stopped = False
        self._guard = threading.Lock()  # stop() from another thread may race start()

    def start(self, timeout: float = 120.0, on_line: Callable[[str], None] | None = None) -> str:
        """Start the engine on a free loopback port and wait until /health answers."""
        with self._guard:
            if self._stopped:
                raise EngineUnavailable("The engine was stopped before it started.")
            self.process = subprocess.Popen(
                engine_command("serve", "--port", "0", *self._args),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                env=self._env,
            )
        found = threading.Event()

        def read_output() -> None:
            assert self.process is not None
            assert self.process.stdout is not None
            for line in self.process.stdout:
                line = line.rstrip()
                self.log.append(line)
                del self.log[:-200]
                if on_line:
                    on_line(line)
                if line.startswith(READY_PREFIX) and self.url is None:
                    self.url = line[len(READY_PREFIX) :].strip()
                    found.set()
            found.set()

        threading.Thread(target=read_output, daemon=True, name="hearth-engine-log").start()
        deadline = time.monotonic() + timeout
        found.wait(timeout)
        if self.url is None:
            self.stop()
            raise EngineUnavailable("The engine did not start: " + " | ".join(self.log[-5:]))
        with EngineClient(self.url, None, timeout=5) as probe:
            while time.monotonic() < deadline:
                try:
                    probe.health()
                    return self.url
                except EngineUnavailable:
                    if self.process.poll() is not None:
                        break
                    time.sleep(0.1)
        self.stop()
        raise EngineUnavailable("The engine did not become ready: " + " | ".join(self.log[-5:]))

    def stop(self, timeout: float = 10.0) -> None:
        with self._guard:
            self._stopped = True
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout)
