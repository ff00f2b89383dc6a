"""A small bar-chart PNG for BENCHMARKS.md, drawn with Pillow (no plotting library needed)."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

COLOURS = ["#2f6feb", "#1a7f37", "#bf8700", "#8250df", "#cf222e"]
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"


def _font(size: int) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    try:
        return ImageFont.truetype(FONT, size)
    except OSError:
        return ImageFont.load_default()


def bar_panels(
    path: Path, title: str, panels: list[tuple[str, dict[str, float]]], width: int = 1000
) -> Path:
    """One panel per metric, side by side; each panel's bars are the same runners in order."""
    height = 420
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    draw.text((20, 12), title, fill="#24292f", font=_font(20))
    runners = list(panels[0][1]) if panels else []
    for i, runner in enumerate(runners):  # the legend
        x = 20 + i * 240
        draw.rectangle((x, 48, x + 14, 62), fill=COLOURS[i % len(COLOURS)])
        draw.text((x + 20, 47), runner, fill="#24292f", font=_font(14))
    panel_w = width // max(1, len(panels))
    for p, (metric, values) in enumerate(panels):
        left, top, bottom = p * panel_w + 40, 135, height - 50
        draw.text((left, 82), metric, fill="#57606a", font=_font(15))
        peak = max(values.values(), default=1.0) or 1.0
        bar_w = (panel_w - 80) / max(1, len(values))
        for i, (_runner, value) in enumerate(values.items()):
            h = (bottom - top) * value / peak
            x0 = left + i * bar_w + bar_w * 0.15
            draw.rectangle(
                (x0, bottom - h, x0 + bar_w * 0.7, bottom), fill=COLOURS[i % len(COLOURS)]
            )
            draw.text((x0, bottom - h - 18), f"{value:.1f}", fill="#24292f", font=_font(13))
        draw.line((left, bottom, left + panel_w - 80, bottom), fill="#8c959f")
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)
    return path
