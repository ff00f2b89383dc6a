"""Icons by what they mean, drawn from Font Awesome through qtawesome (fonts under the SIL OFL,
code MIT) in the theme's text colour, so they read in light and dark alike."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from app.ui.theme import colours

NAMES = {
    "chat": "fa6s.comments", "transcribe": "fa6s.wave-square", "knowledge": "fa6s.book-open",
    "customise": "fa6s.sliders", "models": "fa6s.cube", "usage": "fa6s.chart-column",
    "settings": "fa6s.gear", "microphone": "fa6s.microphone", "stop": "fa6s.stop",
    "send": "fa6s.paper-plane", "attach": "fa6s.paperclip", "record": "fa6s.circle",
    "new": "fa6s.plus", "download": "fa6s.download", "copy": "fa6s.copy",
    "regenerate": "fa6s.rotate-right", "edit": "fa6s.pen", "app": "fa6s.fire",
}  # fmt: skip


def icon(name: str, colour: str | None = None) -> QIcon:
    import qtawesome

    c = colours()
    drawn: QIcon = qtawesome.icon(NAMES[name], color=colour or c.text, color_disabled=c.muted)
    return drawn


def app_icon() -> QIcon:
    """The window's and the tray's icon: a flame on the accent colour's warm cousin."""
    import qtawesome

    drawn: QIcon = qtawesome.icon(NAMES["app"], color="#e8590c")
    return drawn
