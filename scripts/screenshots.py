"""Render the desktop's main screens to PNG files (for the README): `make screenshots`.

Starts its own engine on a scratch home folder with a little content, opens the window, and
saves one picture per page. Runs under Xvfb (`make screenshots`) or Qt's offscreen platform.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = """Here is a small function that keeps only the even numbers:

```python
def evens(numbers: list[int]) -> list[int]:
    return [n for n in numbers if n % 2 == 0]
```

Call it as `evens([1, 2, 3, 4])`, which gives **[2, 4]**."""


def _wait(app: object, seconds: float, until: object = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()  # type: ignore[attr-defined]
        if until is not None and until():  # type: ignore[operator]
            return
        time.sleep(0.02)


def main(out: Path) -> int:
    from PySide6.QtWidgets import QApplication

    from app.desktop import install_translation
    from app.engine_client.launcher import EngineProcess, find_connection
    from app.engine_link import EngineLink
    from app.tasks import Tasks
    from app.ui.main_window import MainWindow

    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="hearth-shots-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(HEARTH_HOME=str(home), HEARTH_KEYSTORE="file", HEARTH_LOG_LEVEL="warning",
               HEARTH_KEYSTORE_PASSPHRASE="screenshots")  # fmt: skip
    engine = EngineProcess(env=env)
    url = engine.start()
    from app.engine_client import EngineClient

    client = EngineClient(url, find_connection(env).token)
    try:
        client.create_conversation(
            title="Filtering a list in Python",
            messages=[
                {"role": "user", "content": "How do I keep only the even numbers of a list?"},
                {"role": "assistant", "content": SAMPLE},
            ],
        )
        client.create_conversation(title="Trip ideas for spring")
        client.chat([{"role": "user", "content": "Say hello."}], max_tokens=8)
        client._request("POST", "/v1/memories", json={"content": "My cat is called Miso."})
        wav = home / "voice-note.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), "Remember to water the plants on Sunday."],
                       check=False, timeout=60)  # fmt: skip

        app = QApplication.instance() or QApplication(sys.argv)
        shots: list[Path] = []
        for language in ("en", "zh_CN"):
            translator = install_translation(app, language)
            tasks = Tasks()
            link = EngineLink(tasks, {**env, "HEARTH_URL": url, "HEARTH_API_TOKEN": client.token or ""})
            window = MainWindow(link, tasks, env)
            window.resize(1280, 800)
            window.show()
            link.start()
            _wait(app, 60, lambda: window.chat.conversations.count() >= 2)
            first = window.chat.conversations.item(0)
            for i in range(window.chat.conversations.count()):
                item = window.chat.conversations.item(i)
                if "Python" in item.text():
                    first = item
            window.chat._open_item(first)
            _wait(app, 10, lambda: bool(window.chat.turns))
            if language == "en" and wav.exists():
                window.open_files([wav])
                _wait(app, 60, lambda: bool(window.cards) and bool(window.cards[-1].text.toPlainText()))  # type: ignore[attr-defined]
            pages = ["chat"] if language != "en" else ["chat", "transcribe", "models", "usage", "settings"]
            for row, name in enumerate(pages):
                window.nav.setCurrentRow(row)
                _wait(app, 2.5)
                suffix = "" if language == "en" else f"-{language}"
                path = out / f"{name}{suffix}.png"
                window.grab().save(str(path))
                shots.append(path)
            window.close()
            if translator is not None:
                app.removeTranslator(translator)  # type: ignore[arg-type]
        for path in shots:
            print(path)
    finally:
        client.close()
        engine.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/screenshots")))
