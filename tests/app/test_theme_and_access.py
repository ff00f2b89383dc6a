"""The look and its reach: both themes' text contrast computed from the palettes, switching
themes (by Settings and by the system), and every interactive widget on every page named for
assistive technology and reachable with Tab."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtCore import QSettings, Qt
from PySide6.QtGui import QAccessible, QGuiApplication, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTextEdit,
    QWidget,
)

from app.ui import theme
from app.ui.main_window import MainWindow
from tests.app.desktop_harness import Windows
from tests.conftest import RunningEngine, engine_env

INTERACTIVE = (QAbstractButton, QComboBox, QLineEdit, QPlainTextEdit, QTextEdit,
               QAbstractSpinBox, QAbstractSlider, QAbstractItemView)  # fmt: skip


def test_contrast_is_computed_as_wcag_says() -> None:
    assert theme.contrast("#000000", "#ffffff") == pytest.approx(21.0)
    assert theme.contrast("#777777", "#777777") == pytest.approx(1.0)
    assert theme.contrast("#767676", "#ffffff") == pytest.approx(4.54, abs=0.01)


@pytest.mark.parametrize("colours", [theme.LIGHT, theme.DARK], ids=["light", "dark"])
def test_every_text_colour_is_readable_on_what_it_is_drawn_on(colours: theme.Colours) -> None:
    low = [
        f"{fg_name} on {bg_name}: {theme.contrast(fg, bg):.2f}"
        for fg_name, fg, bg_name, bg in theme.text_pairs(colours)
        if theme.contrast(fg, bg) < 4.5
    ]
    assert not low, low


def _window_colour() -> str:
    return str(QApplication.palette().color(QPalette.ColorRole.Window).name())


def test_the_theme_chosen_in_settings_is_applied_and_kept(
    qtbot: Any, engine_server: RunningEngine, windows: Windows
) -> None:
    QSettings().setValue(theme.THEME_KEY, "light")
    window = windows.open(engine_env(engine_server.home))
    assert _window_colour() == theme.LIGHT.window
    combo = window.settings.theme
    combo.setCurrentIndex(combo.findData("dark"))
    assert _window_colour() == theme.DARK.window
    assert QSettings().value(theme.THEME_KEY) == "dark"
    assert theme.colours() is theme.DARK
    window.chat.new_chat()  # the empty chat's welcome is drawn in the dark colours
    assert theme.DARK.raised in window.chat.chat_view.toHtml()
    combo.setCurrentIndex(combo.findData("light"))
    assert _window_colour() == theme.LIGHT.window
    assert theme.LIGHT.raised in window.chat.chat_view.toHtml()


def test_on_system_the_theme_follows_the_system(
    qtbot: Any, engine_server: RunningEngine, windows: Windows
) -> None:
    QSettings().setValue(theme.THEME_KEY, "system")
    windows.open(engine_env(engine_server.home))
    hints = QGuiApplication.styleHints()
    # The offscreen platform has no system setting to flip: the signal a desktop sends when
    # the user switches to dark is sent as the platform would.
    try:
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert _window_colour() == theme.DARK.window
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Light)
        assert _window_colour() == theme.LIGHT.window
        QSettings().setValue(theme.THEME_KEY, "light")  # chosen by hand: the system is ignored
        hints.colorSchemeChanged.emit(Qt.ColorScheme.Dark)
        assert _window_colour() == theme.LIGHT.window
    finally:
        theme.apply("light")


def _unnamed_and_unreachable(page: QWidget) -> tuple[list[str], list[str]]:
    unnamed, unreachable = [], []
    for widget in page.findChildren(QWidget):
        if not isinstance(widget, INTERACTIVE) or not widget.isVisibleTo(page):
            continue
        if isinstance(widget, (QHeaderView, QScrollBar)) or isinstance(
            widget.parent(), (QAbstractSpinBox, QComboBox)
        ):
            continue  # parts of a table, a scroll area, a spin box: reached through it
        where = f"{type(widget).__name__} {widget.objectName() or ''}".strip()
        interface = QAccessible.queryAccessibleInterface(widget)
        name = interface.text(QAccessible.Text.Name) if interface is not None else ""
        if not name.strip():
            unnamed.append(where)
        if not widget.focusPolicy() & Qt.FocusPolicy.TabFocus:
            unreachable.append(where)
    return unnamed, unreachable


def test_every_page_names_its_controls_and_reaches_them_by_keyboard(
    qtbot: Any, engine_server: RunningEngine, windows: Windows
) -> None:
    window: MainWindow = windows.open(engine_env(engine_server.home))
    problems: dict[str, Any] = {}
    for row in range(window.nav.count()):
        window.nav.setCurrentRow(row)
        page = window.pages.currentWidget()
        qtbot.wait(300)  # the page's data arrives and fills its widgets
        assert page.accessibleName() == window.nav.item(row).text()
        unnamed, unreachable = _unnamed_and_unreachable(page)
        if unnamed or unreachable:
            problems[page.accessibleName()] = {"unnamed": unnamed, "unreachable": unreachable}
    assert not problems, problems
    # Ctrl+1 … Ctrl+7 reach the pages; Tab moves from the message box to the next control.
    window.show_page(window.chat)
    window.chat.input.setFocus()
    qtbot.keyClick(window.chat.input, Qt.Key.Key_Tab)
    assert QApplication.focusWidget() is not window.chat.input
