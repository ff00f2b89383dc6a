"""Hearth's look in one place: two palettes, spacing, type scale and radii, and the Qt palette and
style sheet made from them (spin and combo boxes are left to Fusion and the palette: a style
sheet on them loses their arrows). Light and dark follow the operating system unless Settings says
otherwise. Colours elsewhere come from `colours()`, never from literals, so both themes hold.

Every text colour is chosen against the surfaces it is drawn on for a contrast of at least
4.5:1 (WCAG AA); a test computes it from these palettes.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from PySide6.QtCore import QObject, QSettings, Qt
from PySide6.QtGui import QColor, QFont, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

THEME_KEY = "appearance/theme"
CHOICES = ("system", "light", "dark")
_PROPERTY = "hearth_theme"  # the applied theme's name, kept on the application object


@dataclass(frozen=True)
class Colours:
    name: str
    window: str  # behind everything
    surface: str  # inputs, the transcript, cards
    raised: str  # code blocks, hovered buttons, the user's message block
    border: str
    text: str
    muted: str  # secondary text: footers, captions
    accent: str  # links, focus, the default button
    on_accent: str  # text on the accent
    selected: str  # the chosen navigation item
    on_selected: str
    you: str  # the user's name on a turn
    assistant: str  # the model's name on a turn
    success: str
    warning: str
    danger: str
    mark: str  # search hits' background
    code_style: str  # the Pygments style for code blocks


LIGHT = Colours(
    name="light", window="#f6f8fa", surface="#ffffff", raised="#eff2f5", border="#d0d7de",
    text="#1f2328", muted="#59636e", accent="#0969da", on_accent="#ffffff",
    selected="#dbe9fb", on_selected="#0a3069", you="#0550ae", assistant="#116329",
    success="#116329", warning="#7d4e00", danger="#b91c1c", mark="#fff1a8",
    code_style="friendly",
)  # fmt: skip
DARK = Colours(
    name="dark", window="#0d1117", surface="#151b23", raised="#212830", border="#3d444d",
    text="#e6edf3", muted="#9ea7b3", accent="#4c9aff", on_accent="#0d1117",
    selected="#1c3557", on_selected="#dcebff", you="#79c0ff", assistant="#7ee787",
    success="#56d364", warning="#e3b341", danger="#ff7b72", mark="#5c4a00",
    code_style="github-dark",
)  # fmt: skip
THEMES = {c.name: c for c in (LIGHT, DARK)}

# Spacing steps (px), radii (px) and the type scale (points), shared by every page.
SPACE = (4, 8, 12, 16, 24)
RADIUS, RADIUS_SMALL = 8, 6
TYPE_SCALE = {"small": 8.5, "body": 10.0, "title": 12.0, "heading": 15.0}


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two opaque colours, 1 to 21."""

    def luminance(colour: str) -> float:
        c = QColor(colour)
        channels = []
        for v in (c.redF(), c.greenF(), c.blueF()):
            channels.append(v / 12.92 if v <= 0.03928 else ((v + 0.055) / 1.055) ** 2.4)
        r, g, b = channels
        return 0.2126 * r + 0.7152 * g + 0.0722 * b

    high, low = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def text_pairs(c: Colours) -> list[tuple[str, str, str, str]]:
    """(what, foreground, on what, background) for every text the window draws."""
    pairs = []
    for bg_name in ("window", "surface", "raised"):
        bg = getattr(c, bg_name)
        for fg_name in ("text", "muted", "accent", "you", "assistant", "success", "warning",
                        "danger"):  # fmt: skip
            pairs.append((fg_name, getattr(c, fg_name), bg_name, bg))
    pairs += [
        ("on_accent", c.on_accent, "accent", c.accent),
        ("on_selected", c.on_selected, "selected", c.selected),
        ("text", c.text, "mark", c.mark),
    ]
    return pairs


def system_scheme() -> str:
    hints = QGuiApplication.styleHints()
    scheme = getattr(hints, "colorScheme", None)  # Qt 6.5+
    if scheme is not None and scheme() == Qt.ColorScheme.Dark:
        return "dark"
    return "light"


def chosen() -> str:
    value = str(QSettings().value(THEME_KEY, "system") or "system")
    return value if value in CHOICES else "system"


def colours() -> Colours:
    """The theme the application shows now (light before one is applied)."""
    app = QGuiApplication.instance()
    name = app.property(_PROPERTY) if app is not None else None
    return THEMES.get(str(name), LIGHT)


def apply(choice: str | None = None) -> Colours:
    """Apply `choice` (or the saved one): Fusion, the Qt palette, the style sheet, the font."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    choice = choice or chosen()
    c = THEMES[system_scheme() if choice == "system" else choice]
    if app.property(_PROPERTY) == c.name:
        return c  # restyling every widget of every window is costly: only for a change
    app.setProperty(_PROPERTY, c.name)
    if app.style().name().lower() != "fusion":
        app.setStyle("Fusion")  # the same widgets on every system, drawn from the palette
    app.setPalette(qt_palette(c))
    font = QFont(app.font())
    font.setPointSizeF(TYPE_SCALE["body"])
    app.setFont(font)
    app.setStyleSheet(style_sheet(c))
    return c


def qt_palette(c: Colours) -> QPalette:
    p = QPalette()
    roles = {
        QPalette.ColorRole.Window: c.window, QPalette.ColorRole.WindowText: c.text,
        QPalette.ColorRole.Base: c.surface, QPalette.ColorRole.AlternateBase: c.raised,
        QPalette.ColorRole.Text: c.text, QPalette.ColorRole.Button: c.surface,
        QPalette.ColorRole.ButtonText: c.text, QPalette.ColorRole.Highlight: c.accent,
        QPalette.ColorRole.HighlightedText: c.on_accent, QPalette.ColorRole.Link: c.accent,
        QPalette.ColorRole.LinkVisited: c.accent, QPalette.ColorRole.ToolTipBase: c.raised,
        QPalette.ColorRole.ToolTipText: c.text, QPalette.ColorRole.PlaceholderText: c.muted,
        QPalette.ColorRole.BrightText: c.danger, QPalette.ColorRole.Mid: c.border,
        QPalette.ColorRole.Midlight: c.raised, QPalette.ColorRole.Light: c.surface,
        QPalette.ColorRole.Dark: c.border, QPalette.ColorRole.Shadow: c.border,
    }  # fmt: skip
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.WindowText,
                 QPalette.ColorRole.ButtonText):  # fmt: skip
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(c.muted))
    return p


def style_sheet(c: Colours) -> str:
    s = asdict(c)
    s.update(r=RADIUS, rs=RADIUS_SMALL, s1=SPACE[0], s2=SPACE[1], s3=SPACE[2], s4=SPACE[3])
    s.update(title=TYPE_SCALE["title"], heading=TYPE_SCALE["heading"])
    return """
QPushButton {{ background: {surface}; color: {text}; border: 1px solid {border};
  border-radius: {rs}px; padding: {s1}px {s3}px; min-height: 20px; }}
QPushButton:hover {{ background: {raised}; }}
QPushButton:focus {{ border-color: {accent}; }}
QPushButton:default {{ background: {accent}; color: {on_accent}; border-color: {accent}; }}
QPushButton:disabled {{ color: {muted}; background: {window}; }}
QToolButton {{ border: 1px solid transparent; border-radius: {rs}px; padding: {s1}px; }}
QToolButton:hover, QToolButton:checked {{ background: {raised}; border-color: {border}; }}
QToolButton:focus {{ border-color: {accent}; }}
QLineEdit, QPlainTextEdit, QTextEdit {{
  background: {surface}; color: {text}; border: 1px solid {border};
  border-radius: {rs}px; padding: {s1}px {s2}px; selection-background-color: {accent};
  selection-color: {on_accent}; }}
QLineEdit:focus, QPlainTextEdit:focus, QTextEdit:focus {{ border-color: {accent}; }}
QTextBrowser {{ border: 1px solid {border}; border-radius: {r}px; padding: {s2}px; }}
QGroupBox {{ border: 1px solid {border}; border-radius: {r}px; margin-top: {s4}px;
  padding: {s3}px {s2}px {s2}px {s2}px; background: {surface}; }}
QGroupBox::title {{ subcontrol-origin: margin; left: {s3}px; padding: 0 {s1}px;
  color: {muted}; font-weight: 600; }}
QProgressBar {{ border: none; background: {raised}; border-radius: {s1}px; color: {text};
  text-align: center; min-height: 8px; }}
QProgressBar::chunk {{ background: {accent}; border-radius: {s1}px; }}
QListWidget {{ background: {surface}; border: 1px solid {border}; border-radius: {rs}px; }}
QListWidget#nav {{ border: none; background: transparent; font-size: {title}pt; outline: 0; }}
QListWidget#nav::item {{ padding: 9px 12px; border-radius: {rs}px; color: {text}; }}
QListWidget#nav::item:selected {{ background: {selected}; color: {on_selected}; }}
QLabel#page_title {{ font-size: {heading}pt; font-weight: 600; }}
QLabel[muted="true"] {{ color: {muted}; }}
QStatusBar {{ color: {muted}; }}
QToolTip {{ background: {raised}; color: {text}; border: 1px solid {border}; }}
""".format(**s)


class ThemeFollower(QObject):
    """Re-applies the theme when the system's light/dark setting changes (on "system")."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        hints = QGuiApplication.styleHints()
        changed = getattr(hints, "colorSchemeChanged", None)
        if changed is not None:
            changed.connect(self._system_changed)

    def _system_changed(self, scheme: Qt.ColorScheme) -> None:
        if chosen() == "system":
            apply("dark" if scheme == Qt.ColorScheme.Dark else "light")
