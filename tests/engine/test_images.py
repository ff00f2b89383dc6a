"""OCR and safe image handling through the engine's HTTP API."""

from __future__ import annotations

import io
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import httpx
import pytest
from PIL import Image, ImageDraw, ImageFont

from tests.conftest import RunningEngine, assert_alive, engine_env, start_engine

FONT = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"
LINES = [
    "Invoice number 4821 is due on Friday",
    "Please send the signed contract",
    "今天天气很好",
    "我们下午三点开会",
    "Hearth reads text on the device",
    "离线也能识别中文和英文",
]


def _draw(lines: list[str], size: int = 36) -> Image.Image:
    font = ImageFont.truetype(FONT, size)
    image = Image.new("RGB", (1100, 70 * len(lines) + 40), "white")
    draw = ImageDraw.Draw(image)
    for i, line in enumerate(lines):
        draw.text((30, 20 + 70 * i), line, font=font, fill="black")
    return image


def _png(image: Image.Image, fmt: str = "PNG", **save: object) -> bytes:
    out = io.BytesIO()
    image.save(out, format=fmt, **save)
    return out.getvalue()


def _ocr(http: httpx.Client, data: bytes, name: str = "scan.png") -> httpx.Response:
    return http.post("/v1/images/ocr", files={"file": (name, data)})


def _char_accuracy(expected: str, got: str) -> float:
    a, b = expected.replace(" ", ""), got.replace(" ", "")
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, start=1):
        current = [i]
        for j, cb in enumerate(b, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1 - previous[-1] / max(len(a), 1)


def test_ocr_reads_english_and_chinese_lines(http: httpx.Client) -> None:
    body = _ocr(http, _png(_draw(LINES))).json()
    assert body["object"] == "ocr"
    assert _char_accuracy("\n".join(LINES), body["text"]) >= 0.9, body["text"]
    assert len(body["lines"]) >= len(LINES)
    for line in body["lines"]:
        assert 0 <= line["confidence"] <= 1
        assert len(line["box"]) == 4
    tops = [line["box"][0][1] for line in body["lines"]]
    assert tops == sorted(tops)


@pytest.mark.parametrize(
    ("fmt", "save"),
    [("JPEG", {"quality": 95}), ("WEBP", {}), ("BMP", {}), ("TIFF", {}), ("GIF", {})],
)
def test_common_formats(http: httpx.Client, fmt: str, save: dict[str, object]) -> None:
    body = _ocr(http, _png(_draw(LINES[:2]), fmt, **save), f"x.{fmt.lower()}").json()
    assert _char_accuracy("\n".join(LINES[:2]), body["text"]) >= 0.85, body["text"]


def test_exif_orientation_is_applied(http: httpx.Client) -> None:
    upright = _draw(LINES[:2])
    stored = upright.rotate(90, expand=True)  # as a camera stores a portrait shot
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 clockwise to display"
    body = _ocr(http, _png(stored, "JPEG", exif=exif.tobytes(), quality=95), "photo.jpg").json()
    assert (body["width"], body["height"]) == upright.size
    assert "contract" in body["text"]


def _bomb_png(width: int, height: int) -> bytes:
    """A PNG header announcing a huge image, with almost no data: a decompression bomb's shape."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return (
            struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        )

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\0" * 100))
        + chunk(b"IEND", b"")
    )


def test_bad_images_get_clear_400s(engine_server: RunningEngine, http: httpx.Client) -> None:
    good = _png(_draw(LINES[:1]))
    cases = {
        "empty": (b"", "empty_file"),
        "text": (b"this is not an image at all" * 10, "invalid_image"),
        "truncated": (good[: len(good) // 2], "invalid_image"),
        "bomb": (_bomb_png(100_000, 100_000), "image_too_large"),
        "pdf": (b"%PDF-1.4\n" + b"0" * 500, "invalid_image"),
    }
    for name, (data, code) in cases.items():
        response = _ocr(http, data, f"{name}.png")
        assert response.status_code == 400, name
        error = response.json()["error"]
        assert error["code"] == code, name
        assert "/tmp" not in error["message"]
    assert http.post("/v1/images/ocr", json={"file": "x"}).status_code == 400
    assert_alive(engine_server)


def test_image_job_and_cli(
    engine_server: RunningEngine, http: httpx.Client, tmp_path: Path
) -> None:
    job = http.post(
        "/v1/jobs", files={"file": ("page.png", _png(_draw(LINES[:2])))}, data={"kind": "image"}
    ).json()
    deadline = time.monotonic() + 120
    while (state := http.get(f"/v1/jobs/{job['id']}").json())["status"] not in (
        "succeeded",
        "failed",
    ):
        assert time.monotonic() < deadline
        time.sleep(0.3)
    assert state["status"] == "succeeded", state
    assert "contract" in state["result"]["ocr"]["text"]
    image = tmp_path / "page.png"
    image.write_bytes(_png(_draw(LINES[2:4])))
    done = subprocess.run([sys.executable, "-m", "app.cli", "ocr", str(image)], env=engine_env(engine_server.home),
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "今天天气很好" in done.stdout


def test_pixel_cap_is_a_setting(tmp_path: Path) -> None:
    engine = start_engine(tmp_path, max_image_pixels=10_000)
    try:
        with engine.http() as http:
            response = _ocr(http, _png(_draw(LINES[:1])))
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "image_too_large"
    finally:
        engine.process.stop()
