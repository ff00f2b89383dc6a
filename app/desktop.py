"""`hearth` with a display: the desktop window, over an engine it starts or finds."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

I18N_DIR = Path(__file__).resolve().parent / "ui" / "i18n"
PROBE_FLAG = "--probe-display"
QUIT_WHEN_READY_ENV = "HEARTH_QUIT_WHEN_READY"


def probe_display() -> int:
    """Open Qt's display connection and close it: exit 0 when a window could be shown."""
    from PySide6.QtGui import QGuiApplication

    QGuiApplication([sys.argv[0]])
    return 0


def install_translation(app: object, language: str) -> object | None:
    """Load the UI's translation for `language` (e.g. zh_CN); English needs none."""
    from PySide6.QtCore import QTranslator

    if not language or language.startswith("en"):
        return None
    translator = QTranslator(app)  # type: ignore[arg-type]
    if translator.load(f"hearth_{language}", str(I18N_DIR)):
        app.installTranslator(translator)  # type: ignore[attr-defined]
        return translator
    return None


def desktop_problem() -> str | None:
    """Why Qt cannot open a window here (a missing system library), or None when it can.

    Tried in a child process: Qt aborts the whole process when no platform plugin loads."""
    frozen = getattr(sys, "frozen", False)  # the packaged program takes the flag itself
    # From source, only this module and Qt load (the CLI's imports would add a fifth of a second).
    probe = "from app.desktop import probe_display; raise SystemExit(probe_display())"
    command = [sys.executable, PROBE_FLAG] if frozen else [sys.executable, "-c", probe]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return "Qt could not be started"
    if done.returncode == 0:
        return None
    if "could not connect to display" in done.stderr:
        return "the display could not be reached"
    if "xcb-cursor" in done.stderr or "platform plugin" in done.stderr:
        return "Qt's display libraries are missing (`scripts/system_deps.sh desktop` installs them)"
    return "Qt could not open a window"


def run_desktop() -> int:
    from PySide6.QtCore import QLocale, QSettings, QTimer
    from PySide6.QtWidgets import QApplication

    from app.engine_link import EngineLink
    from app.tasks import Tasks
    from app.ui.main_window import MainWindow

    # Qt Multimedia says at start which optional libraries (PipeWire, FFmpeg) it did not load:
    # noise for the user, who records through PulseAudio or the system's own audio.
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.symbolsresolver=false")
    app = QApplication.instance() or QApplication(sys.argv)
    app.setOrganizationName("Hearth")
    app.setApplicationName("Hearth")
    language = str(QSettings().value("language", "") or QLocale.system().name())
    install_translation(app, language)
    tasks = Tasks()
    link = EngineLink(tasks)
    window = MainWindow(link, tasks)

    window.show()
    # Ctrl-C, a logout or `kill`: close the window (which stops the engine it started) rather
    # than leave that engine behind. The timer lets Python see the signal while Qt waits.
    for signum in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
        signal.signal(signum, lambda *_: QTimer.singleShot(0, window.close))
    heartbeat = QTimer(window)
    heartbeat.start(250)
    heartbeat.timeout.connect(lambda: None)
    if os.environ.get(QUIT_WHEN_READY_ENV):  # the package smoke test: up, engine ready, close
        link.ready.connect(window.close)
        link.ready.connect(app.quit)
    link.start()
    return int(app.exec())
