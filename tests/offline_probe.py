"""Starts an engine and uses every feature once; prints what worked and how long start-up took.

Run as a script (the offline tests run it inside a network namespace with only loopback, and
outside it): python tests/offline_probe.py HOME [EGRESS_LOG]
"""

from __future__ import annotations

import base64
import io
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from PIL import Image, ImageDraw, ImageFont  # noqa: E402

from engine.settings import default_embedded_dir  # noqa: E402
from tests.conftest import engine_env, start_engine  # noqa: E402
from tests.vision_maker import make_projector  # noqa: E402


def main() -> int:
    home = Path(sys.argv[1])
    log = sys.argv[2] if len(sys.argv) > 2 else None
    models = home / "data" / "models"
    models.mkdir(parents=True, exist_ok=True)
    shutil.copy(
        default_embedded_dir() / "SmolLM2-135M-Instruct.Q4_1.gguf", models / "probe-vision.gguf"
    )
    make_projector(models / "mmproj-probe-vision.gguf")
    env_extra = {"PYTHONPATH": str(ROOT / "tests" / "egress")}
    if log:
        env_extra["HEARTH_EGRESS_LOG"] = log
    started = time.monotonic()
    engine = start_engine(home, _env_extra=env_extra)
    startup = time.monotonic() - started
    ok: dict[str, bool] = {}
    try:
        with engine.http() as http:
            chat = http.post(
                "/v1/chat/completions",
                json={"messages": [{"role": "user", "content": "Say hi"}], "max_tokens": 4},
            )
            ok["chat"] = chat.status_code == 200
            wav = home / "probe.wav"
            subprocess.run(
                ["espeak-ng", "-w", str(wav), "The weather is cold today."], check=True, timeout=60
            )
            with wav.open("rb") as f:
                heard = http.post("/v1/audio/transcriptions", files={"file": f})
            ok["transcription"] = (
                heard.status_code == 200 and "cold" in heard.json()["text"].lower()
            )
            font = ImageFont.truetype("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc", 36)
            image = Image.new("RGB", (600, 80), "white")
            ImageDraw.Draw(image).text((10, 15), "Offline text 离线", font=font, fill="black")
            png = io.BytesIO()
            image.save(png, format="PNG")
            read = http.post("/v1/images/ocr", files={"file": ("p.png", png.getvalue())})
            ok["ocr"] = read.status_code == 200 and "Offline" in read.json()["text"]
            url = "data:image/png;base64," + base64.b64encode(png.getvalue()).decode()
            seen = http.post(
                "/v1/chat/completions",
                json={
                    "model": "probe-vision",
                    "max_tokens": 4,
                    "messages": [
                        {
                            "role": "user",
                            "content": [
                                {"type": "text", "text": "What?"},
                                {"type": "image_url", "image_url": {"url": url}},
                            ],
                        }
                    ],
                },
            )
            ok["captioning"] = seen.status_code == 200
            conv = http.post("/v1/conversations", json={}).json()
            http.post("/v1/memories", json={"content": "The user likes tea."})
            sent = http.post(
                f"/v1/conversations/{conv['id']}/messages",
                json={"content": "Which tea should I drink?", "max_tokens": 4},
            )
            ok["memory"] = sent.status_code == 200 and bool(sent.json()["context"]["memories_used"])
            job = http.post(
                "/v1/jobs", files={"file": ("p.png", png.getvalue())}, data={"kind": "image"}
            ).json()
            deadline = time.monotonic() + 120
            while (state := http.get(f"/v1/jobs/{job['id']}").json())["status"] not in (
                "succeeded",
                "failed",
            ):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            ok["jobs"] = state["status"] == "succeeded"
            health = http.get("/health").json()
            ok["health_fully_local"] = health["fully_local"] is True
    finally:
        engine.process.stop()
    cli = subprocess.run([sys.executable, "-m", "app.cli", "chat", "Say ok", "--max-tokens", "3"],
                         env={**engine_env(home), **env_extra}, capture_output=True, text=True, timeout=120, cwd=ROOT)  # fmt: skip
    ok["cli"] = cli.returncode == 0 and bool(cli.stdout.strip())
    print(json.dumps({"ok": ok, "startup_seconds": startup}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
