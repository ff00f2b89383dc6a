"""Render the desktop's main screens to PNG files (for the README): `make screenshots`.

Starts its own engine on a scratch home folder with a little content, opens the window, and
saves one picture per page, then the chat in Chinese and four pages dark (`--light-only` skips
those two passes). Runs under Xvfb (`make screenshots`) or Qt's offscreen platform.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SAMPLE = """Here is a small function that keeps only the even numbers:

```python
def evens(numbers: list[int]) -> list[int]:
    return [n for n in numbers if n % 2 == 0]
```

Call it as `evens([1, 2, 3, 4])`, which gives **[2, 4]**."""


def _wait(app: object, seconds: float, until: object = None, what: str = "") -> None:
    """Let the window work; with `until`, fail (naming `what`) if it never becomes true."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        app.processEvents()  # type: ignore[attr-defined]
        if until is not None and until():  # type: ignore[operator]
            return
        time.sleep(0.02)
    if until is not None:
        raise SystemExit(f"screenshots: gave up waiting for {what}")


def _search(app: object, page: Any, query: str) -> None:
    _wait(app, 60, lambda: any(f["status"] == "completed" for f in page.files), "indexing")
    page.search_box.setText(query)
    page.search()


def _shoot(
    app: object,
    language: str,
    env: dict[str, str],
    wav: Path | None,
    out: Path,
    manifest: dict[str, object],
    pages: list[str],
    look: str = "light",
) -> list[Path]:
    """One window in `language` and the `look` theme: `pages` saved as PNG files."""
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QWidget

    from app.desktop import install_translation
    from app.engine_link import EngineLink
    from app.tasks import Tasks
    from app.ui.main_window import MainWindow

    translator = install_translation(app, language)
    tasks = Tasks()
    link = EngineLink(tasks, env)
    window = MainWindow(link, tasks, env)
    window.restyle(look)  # shown, not saved: the user's own choice stays as it is
    window.resize(1280, 800)
    window.show()
    link.start()
    chat = window.chat
    _wait(app, 60, lambda: chat.conversations.count() >= 2, "the conversations")
    items = [chat.conversations.item(i) for i in range(chat.conversations.count())]
    chosen = next((i for i in items if "Python" in i.text()), items[0])
    chat.open_conversation(chosen.data(Qt.ItemDataRole.UserRole))
    _wait(app, 10, lambda: bool(chat.turns), "the conversation's messages")
    if wav is not None:
        window.open_files([wav])
        card = window.cards[-1]
        _wait(app, 120, lambda: bool(card.text.toPlainText()), "the transcript")  # type: ignore[attr-defined]
    welcome = chat.welcome
    if language == "en" and look == "light":  # the first-run welcome, with its recommendation
        welcome.show()
        welcome.refresh()
        _wait(app, 30, lambda: bool(welcome.advice.text()), "the recommended model")
    else:
        welcome.hide()
    # What each page shows once its data has arrived: the picture is taken then, not after a
    # guessed time.
    loaded = {
        "chat": lambda: bool(chat.chat_view.toPlainText().strip()),
        "transcribe": lambda: window.transcribe.isVisible(),
        "knowledge": lambda: bool(window.knowledge.hits),
        "customise": lambda: window.customise.answers is not None,
        "models": lambda: (
            window.models.installed.rowCount() > 0 and window.models.catalog.rowCount() > 0
        ),
        "usage": lambda: window.usage.memories.count() > 0,
        "settings": lambda: window.settings.current is not None,
    }
    suffix = ("" if language == "en" else f"-{language}") + ("" if look == "light" else f"-{look}")
    shots = []
    for name in pages:
        window.show_page(getattr(window, name))
        if name == "knowledge":  # a search, once the file is indexed
            _search(app, window.knowledge, "When should the roses be pruned?")
        if name == "customise":  # the finished job's answers side by side
            customise = window.customise
            _wait(app, 30, lambda c=customise: c.tuned() is not None, "the tuned model")
            customise.prompt.setText("When do I prune the roses?")
            customise.compare()
        _wait(app, 60, loaded[name], f"the {name} page's data")
        _wait(app, 0.2)  # one more round of painting
        path = out / f"{name}{suffix}.png"
        window.grab().save(str(path))
        page = window.pages.currentWidget()
        manifest[path.name] = {
            "page": type(page).__name__,
            "visible": sorted(
                w.objectName()
                for w in page.findChildren(QWidget)
                if w.objectName() and w.isVisible()
            ),
            "modal": type(app.activeModalWidget()).__name__ if app.activeModalWidget() else None,  # type: ignore[attr-defined]
            "notices": list(window.notices),
        }
        shots.append(path)
    window.close()
    if translator is not None:
        app.removeTranslator(translator)  # type: ignore[attr-defined]
    return shots


def _tuning_job(client: Any, home: Path) -> str:
    """A small fine-tuning job (the upper layers, one pass) for the Customise page to show."""
    questions = ["When should the roses be pruned?", "When do I prune roses?",
                 "What month is best for pruning roses?", "How do I prune my roses?",
                 "Rose pruning: when?", "When is rose pruning time?",
                 "Should I prune roses in March?", "Tell me when to cut back roses.",
                 "When are roses pruned?", "What is the right time to prune roses?"]  # fmt: skip
    answer = "Prune the roses in March, just above an outward bud."
    data = home / "garden.jsonl"
    data.write_text("".join(json.dumps({"messages": [{"role": "user", "content": q},
                                                     {"role": "assistant", "content": answer}]})
                            + "\n" for q in questions), encoding="utf-8")  # fmt: skip
    file_id = client.upload_training_file(data)
    job = client.create_fine_tuning_job(model="smollm2-135m-instruct", training_file=file_id,
                                        hyperparameters={"n_epochs": 1}, upper_layers=8,
                                        replay=False, suffix="garden")  # fmt: skip
    return str(job["id"])


def main(out: Path, light_only: bool = False) -> int:
    from PySide6.QtWidgets import QApplication

    from app.engine_client.launcher import EngineProcess, find_connection

    out.mkdir(parents=True, exist_ok=True)
    home = Path(tempfile.mkdtemp(prefix="hearth-shots-"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env.update(HEARTH_HOME=str(home), HEARTH_KEYSTORE="file", HEARTH_LOG_LEVEL="warning")
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
        client.add_memory("My cat is called Miso.")
        notes = home / "garden-notes.md"
        notes.write_text("# Roses\n\nPrune the roses in March, just above an outward bud.\n"
                         "\n# Tomatoes\n\nTomatoes need six hours of sun a day.\n")  # fmt: skip
        store = client.create_vector_store("Garden")
        client.add_to_vector_store(store["id"], notes)
        job = _tuning_job(client, home)
        wav = home / "voice-note.wav"
        subprocess.run(["espeak-ng", "-w", str(wav), "Please call me back tonight."],
                       check=True, timeout=60)  # fmt: skip

        deadline = time.monotonic() + 240
        while client.fine_tuning_job(job)["status"] != "succeeded":
            assert time.monotonic() < deadline, client.fine_tuning_events(job)[-1]["message"]
            time.sleep(1)
        app = QApplication.instance() or QApplication(sys.argv)
        link_env = {**env, "HEARTH_URL": url, "HEARTH_API_TOKEN": client.token or ""}
        manifest: dict[str, object] = {}
        every = ["chat", "transcribe", "knowledge", "customise", "models", "usage", "settings"]
        shots = _shoot(app, "en", link_env, wav, out, manifest, every)
        if not light_only:
            shots += _shoot(app, "zh_CN", link_env, None, out, manifest, ["chat"])
            shots += _shoot(app, "en", link_env, None, out, manifest,
                            ["chat", "models", "usage", "settings"], look="dark")  # fmt: skip
        # What was on screen in each picture, for the test (and anyone checking a picture).
        (out / "screenshots.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
        for path in shots:
            print(path)
    finally:
        client.close()
        engine.stop()
        shutil.rmtree(home, ignore_errors=True)
    return 0


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--light-only"]
    sys.exit(main(Path(args[0] if args else "docs/screenshots"), "--light-only" in sys.argv))
