"""A private PulseAudio server with a virtual microphone: a pipe source fed with speech in real
time, which a test can plug in and pull out. Nothing touches the machine's own audio."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from pathlib import Path

from tests.waiting import wait_for

RATE = 16000


class VirtualMicrophones:
    """One `pulseaudio` process on a socket of its own; `PULSE_SERVER` names it."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.socket = folder / "native"
        self.server = f"unix:{self.socket}"
        self._process: subprocess.Popen[bytes] | None = None
        self._modules: dict[str, str] = {}

    def _env(self) -> dict[str, str]:
        # Its own runtime folder and home: no cookie, state or config of the user's is read.
        return {**os.environ, "PULSE_SERVER": self.server, "XDG_RUNTIME_DIR": str(self.folder),
                "HOME": str(self.folder), "PULSE_RUNTIME_PATH": str(self.folder)}  # fmt: skip

    def start(self) -> None:
        binary = shutil.which("pulseaudio")
        if binary is None:
            raise RuntimeError("pulseaudio is missing: `make system-deps` installs it")
        self.folder.mkdir(parents=True, exist_ok=True)
        log = (self.folder / "pulseaudio.log").open("wb")
        self._process = subprocess.Popen(
            [binary, "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
             "--use-pid-file=no", "--system=no", "-L",
             f"module-native-protocol-unix socket={self.socket} auth-anonymous=1"],
            env=self._env(), stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(lambda: self._pactl("info", check=False) == 0, timeout=30, what="pulseaudio")

    def _pactl(self, *args: str, check: bool = True) -> int:
        done = subprocess.run(
            ["pactl", *args], env=self._env(), capture_output=True, timeout=30, check=False
        )
        if check and done.returncode:
            raise RuntimeError(f"pactl {' '.join(args)}: {done.stderr.decode().strip()}")
        self.last_output = done.stdout.decode()
        return done.returncode

    def plug(self, name: str) -> Path:
        """A new microphone called `name`; returns the pipe that feeds it."""
        fifo = self.folder / f"{name}.pipe"
        self._pactl("load-module", "module-pipe-source", f"source_name={name}", f"file={fifo}",
                    "format=s16le", f"rate={RATE}", "channels=1")  # fmt: skip
        self._modules[name] = self.last_output.strip()
        wait_for(fifo.exists, timeout=10, what="the pipe")
        return fifo

    def unplug(self, name: str) -> None:
        self._pactl("unload-module", self._modules.pop(name))

    def stop(self) -> None:
        for name in list(self._modules):
            self.unplug(name)
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()


class Speaker:
    """Writes PCM into a microphone's pipe at the pace it would be spoken, on a thread."""

    def __init__(self, fifo: Path, pcm: bytes, lead_silence: float = 0.5) -> None:
        self.pcm = b"\0" * int(2 * RATE * lead_silence) + pcm
        self.fifo = fifo
        self.sent = 0
        self.done = threading.Event()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Speaker:
        self._thread.start()
        return self

    def _run(self) -> None:
        step = RATE * 2 // 50  # 20 ms
        try:
            with self.fifo.open("wb", buffering=0) as pipe:
                began = time.monotonic()
                for i in range(0, len(self.pcm), step):
                    if self._stop.is_set():
                        return
                    pipe.write(self.pcm[i : i + step])
                    self.sent = i + step
                    time.sleep(max(0.0, began + self.sent / (2 * RATE) - time.monotonic()))
        except OSError:
            pass  # the microphone was unplugged under it
        finally:
            self.done.set()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)
