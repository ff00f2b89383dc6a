"""`make screenshots` renders every main screen (here offscreen; the make target uses Xvfb)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from PIL import Image, ImageStat

ROOT = Path(__file__).resolve().parents[2]


def test_screenshots_render_each_page(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEARTH_")}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["XDG_CONFIG_HOME"] = str(tmp_path / "xdg")
    done = subprocess.run(
        [sys.executable, str(ROOT / "scripts" / "screenshots.py"), str(tmp_path / "shots")],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    names = sorted(p.name for p in (tmp_path / "shots").glob("*.png"))
    assert names == ["chat-dark.png", "chat-zh_CN.png", "chat.png", "customise.png",
                     "knowledge.png", "models-dark.png", "models.png", "settings-dark.png",
                     "settings.png", "transcribe.png", "usage-dark.png", "usage.png"]  # fmt: skip
    brightness = {}
    for name in names:
        with Image.open(tmp_path / "shots" / name) as image:
            assert image.size == (1280, 800)
            stat = ImageStat.Stat(image.convert("L"))
            assert stat.stddev[0] > 10, f"{name} looks blank"
            brightness[name] = stat.mean[0]
    for name in ("chat", "models", "usage", "settings"):  # the dark theme is dark
        assert brightness[f"{name}-dark.png"] < 80 < brightness[f"{name}.png"], brightness
    # What was on screen when each picture was taken: the page itself, with its own widgets
    # showing, no dialog over it and nothing gone wrong.
    shown = json.loads((tmp_path / "shots" / "screenshots.json").read_text())
    expected = {
        "chat.png": (
            "ChatPage",
            {
                "transcript",
                "message_box",
                "model_picker",
                "conversations",
                "welcome",
                "dictate_button",
            },
        ),
        "chat-zh_CN.png": ("ChatPage", {"transcript", "message_box", "conversations"}),
        "transcribe.png": ("TranscribePage", {"transcription_queue"}),
        "knowledge.png": ("KnowledgePage", {"collections", "collection_files", "knowledge_search"}),
        "customise.png": (
            "CustomisePage",
            {"base_model", "loss_chart", "training_report", "base_answer", "tuned_answer"},
        ),
        "models.png": ("ModelsPage", {"installed_models", "catalog_models"}),
        "usage.png": ("UsagePage", {"recent_requests"}),
        "settings.png": ("SettingsPage", {"providers", "keys"}),
        "chat-dark.png": ("ChatPage", {"transcript", "message_box", "conversations"}),
        "models-dark.png": ("ModelsPage", {"installed_models", "catalog_models"}),
        "usage-dark.png": ("UsagePage", {"recent_requests"}),
        "settings-dark.png": ("SettingsPage", {"providers", "keys"}),
    }
    assert set(shown) == set(expected)
    for name, (page, widgets) in expected.items():
        assert shown[name]["page"] == page, name
        assert widgets <= set(shown[name]["visible"]), (name, shown[name]["visible"])
        assert shown[name]["modal"] is None, name
        assert shown[name]["notices"] == [], (name, shown[name]["notices"])
