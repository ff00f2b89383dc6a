"""The UI's text goes through Qt's translation; English and Simplified Chinese ship complete."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from PySide6.QtWidgets import QApplication

from app.desktop import I18N_DIR, install_translation
from app.engine_link import EngineLink
from app.tasks import Tasks
from app.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [*sorted((ROOT / "app" / "ui").glob("*.py")), ROOT / "app" / "engine_link.py",
           ROOT / "app" / "desktop.py"]  # fmt: skip


def test_every_ui_string_has_a_chinese_translation(tmp_path: Path) -> None:
    # lupdate over today's sources marks any new string "unfinished" and any gone one "vanished".
    ts = tmp_path / "hearth_zh_CN.ts"
    shutil.copy(I18N_DIR / "hearth_zh_CN.ts", ts)
    lupdate = Path(sys.executable).parent / "pyside6-lupdate"
    subprocess.run([str(lupdate), *map(str, SOURCES), "-ts", str(ts)], check=True,
                   capture_output=True, timeout=120)  # fmt: skip
    messages = list(ET.parse(ts).getroot().iter("message"))  # noqa: S314 - our own file
    assert len(messages) > 150
    untranslated = [
        m.findtext("source")
        for m in messages
        if (m.find("translation") is None)
        or m.find("translation").get("type") in ("unfinished", "vanished", "obsolete")  # type: ignore[union-attr]
        or not (m.findtext("translation") or "").strip()
    ]
    assert not untranslated, f"translate these in {ts.name} (make translations): {untranslated}"


def test_the_window_speaks_chinese_when_asked(qapp: QApplication) -> None:
    translator = install_translation(qapp, "zh_CN")
    assert translator is not None, "the compiled .qm is missing (make setup compiles it)"
    try:
        tasks = Tasks()
        window = MainWindow(EngineLink(tasks, {}), tasks, {})
        labels = [window.nav.item(i).text() for i in range(window.nav.count())]
        assert labels == ["对话", "转写", "知识", "定制", "模型", "用量", "设置"]
        assert window.chat.send_button.text() == "发送"
        assert window.chat.params.preset.itemText(1) == "客户服务"
        window.close()
    finally:
        qapp.removeTranslator(translator)  # type: ignore[arg-type]
    tasks = Tasks()
    english = MainWindow(EngineLink(tasks, {}), tasks, {})
    assert english.nav.item(0).text() == "Chat"
    english.close()
