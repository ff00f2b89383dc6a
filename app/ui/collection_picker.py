"""The chat's collection picker: which of the user's collections a conversation searches for
each turn (a menu of checkable entries on a button that says how many are on)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QMenu, QToolButton, QWidget


class CollectionPicker(QToolButton):
    changed = Signal(list)  # the chosen collection ids, when the user changes them

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("collections_button")
        self.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.setMenu(QMenu(self))
        self.chosen: list[str] = []
        self.names: dict[str, str] = {}
        self._label()

    def set_collections(self, pairs: list[tuple[str, str]]) -> None:
        """The collections there are, as (id, name); the chosen ones that are gone drop out."""
        self.names = dict(pairs)
        self.chosen = [c for c in self.chosen if c in self.names]
        self._rebuild()

    def select(self, ids: list[str]) -> None:
        """Show a conversation's collections (without saying they changed)."""
        self.chosen = list(ids)
        self._rebuild()

    def choose(self, store_id: str, on: bool) -> None:
        self.chosen = [c for c in self.chosen if c != store_id] + ([store_id] if on else [])
        self._label()
        self.changed.emit(list(self.chosen))

    def _rebuild(self) -> None:
        menu = self.menu()
        menu.clear()
        if not self.names:
            menu.addAction(self.tr("No collections yet (see Knowledge)")).setEnabled(False)
        for store_id, name in self.names.items():
            action = menu.addAction(name)
            action.setCheckable(True)
            action.setChecked(store_id in self.chosen)
            action.toggled.connect(lambda on, s=store_id: self.choose(s, on))
        self._label()

    def _label(self) -> None:
        count = len(self.chosen)
        self.setText(self.tr("Collections (%1)").replace("%1", str(count)) if count
                     else self.tr("Collections"))  # fmt: skip
        self.setToolTip(self.tr("Search these collections of your files for each message."))
