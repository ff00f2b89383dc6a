"""Knowledge: collections of the user's files (the engine's vector stores). Add files or folders
by button or by dropping them on the page, see each file's indexing progress or why it failed,
and search a collection with the hits' words highlighted. A folder is watched by the engine, so
changes to it are indexed without coming back here."""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.engine_calls import EngineCalls
from app.engine_client import EngineClient
from app.ui.citations import place_of
from app.ui.page_parts import DropPage, two_panes
from app.ui.theme import colours

POLL_MS = 1000  # while files are being indexed


def highlighted(text: str, query: str) -> str:
    """`text` as HTML with the query's words (three letters or more) marked."""
    words = sorted({w for w in re.findall(r"\w{3,}", query)}, key=len, reverse=True)
    escaped = html.escape(text)
    if not words:
        return escaped
    pattern = re.compile("|".join(re.escape(html.escape(w)) for w in words), re.IGNORECASE)
    return pattern.sub(
        lambda m: f"<b style='background:{colours().mark}'>{m.group(0)}</b>", escaped
    )


class KnowledgePage(DropPage):
    notice = Signal(str)
    collections_changed = Signal(list)  # [(id, name)], for the chat's collection picker

    def __init__(self, calls: EngineCalls) -> None:
        super().__init__()
        self.calls = calls
        self.store_id: str | None = None
        self.files: list[dict[str, Any]] = []
        self.hits: list[dict[str, Any]] = []
        self.status_words = {"in_progress": self.tr("indexing"), "completed": self.tr("ready"),
                             "failed": self.tr("failed"), "cancelled": self.tr("cancelled")}  # fmt: skip

        self.collections = QListWidget()
        self.collections.setObjectName("collections")
        self.collections.setAccessibleName(self.tr("Collections"))
        self.collections.currentItemChanged.connect(self._chosen)
        new = QPushButton(self.tr("New collection…"))
        new.clicked.connect(self._ask_name)
        self.delete_button = QPushButton(self.tr("Delete"))
        self.delete_button.clicked.connect(self._delete_current)
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("<b>" + self.tr("Collections") + "</b>"))
        left_layout.addWidget(self.collections, 1)
        left_buttons = QHBoxLayout()
        left_buttons.addWidget(new)
        left_buttons.addWidget(self.delete_button)
        left_layout.addLayout(left_buttons)

        self.add_files_button = QPushButton(self.tr("Add files…"))
        self.add_files_button.clicked.connect(self._choose_files)
        self.add_folder_button = QPushButton(self.tr("Add folder…"))
        self.add_folder_button.clicked.connect(self._choose_folder)
        self.folders_label = QLabel()
        self.folders_label.setObjectName("watched_folders")
        self.folders_label.setWordWrap(True)
        self.file_table = QTableWidget(0, 3)
        self.file_table.setObjectName("collection_files")
        self.file_table.setAccessibleName(self.tr("Files in the collection"))
        self.file_table.setHorizontalHeaderLabels(
            [self.tr("File"), self.tr("Status"), self.tr("Details")]
        )
        header = self.file_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.file_table.verticalHeader().hide()
        self.search_box = QLineEdit()
        self.search_box.setObjectName("knowledge_search")
        self.search_box.setAccessibleName(self.tr("Search the collection"))
        self.search_box.setPlaceholderText(self.tr("Search this collection…"))
        self.search_box.returnPressed.connect(self.search)
        self.results = QTextBrowser()
        self.results.setObjectName("knowledge_results")
        self.results.setAccessibleName(self.tr("Search results"))
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        buttons = QHBoxLayout()
        buttons.addWidget(self.add_files_button)
        buttons.addWidget(self.add_folder_button)
        buttons.addStretch(1)
        right_layout.addLayout(buttons)
        right_layout.addWidget(
            QLabel(
                self.tr(
                    "Drop files or folders here. Hearth reads documents, recordings "
                    "(transcribed) and pictures (OCR)."
                )
            )
        )
        right_layout.addWidget(self.folders_label)
        right_layout.addWidget(self.file_table, 2)
        right_layout.addWidget(self.search_box)
        right_layout.addWidget(self.results, 3)

        two_panes(self, left, right, (240, 760))
        self.poll = QTimer(self)
        self.poll.setInterval(POLL_MS)
        self.poll.timeout.connect(self.refresh_files)
        self._update_buttons()

    # -- collections -----------------------------------------------------------------------
    def refresh(self) -> None:
        self.calls.run(lambda c: c.vector_stores(), self._show_collections)

    def _show_collections(self, stores: list[dict[str, Any]]) -> None:
        current = self.store_id
        self.collections.blockSignals(True)
        self.collections.clear()
        for store in stores:
            counts = store.get("file_counts") or {}
            label = f"{store.get('name') or store['id']}  ({counts.get('total', 0)})"
            item = QListWidgetItem(label)
            item.setData(Qt.ItemDataRole.UserRole, store["id"])
            self.collections.addItem(item)
            if store["id"] == current:
                self.collections.setCurrentItem(item)
        self.collections.blockSignals(False)
        if self.collections.currentItem() is None and self.collections.count():
            self.collections.setCurrentRow(0)
        elif self.collections.currentItem() is None:
            self.store_id = None
            self._show_files([])
        self.collections_changed.emit([(s["id"], s.get("name") or s["id"]) for s in stores])
        self._update_buttons()

    def _chosen(self, item: QListWidgetItem | None, _previous: object = None) -> None:
        self.store_id = str(item.data(Qt.ItemDataRole.UserRole)) if item else None
        self.results.clear()
        self.refresh_files()
        self._update_buttons()

    def _ask_name(self) -> None:
        name, ok = QInputDialog.getText(self, self.tr("New collection"), self.tr("Name:"))
        if ok and name.strip():
            self.create_collection(name.strip())

    def create_collection(self, name: str) -> None:
        def created(store: dict[str, Any]) -> None:
            self.store_id = store["id"]
            self.refresh()

        self.calls.run(lambda c: c.create_vector_store(name), created)

    def _delete_current(self) -> None:
        store_id = self.store_id
        if store_id is None:
            return
        self.store_id = None
        self.calls.run(lambda c: c.delete_vector_store(store_id), lambda _r: self.refresh())

    # -- files -----------------------------------------------------------------------------
    def refresh_files(self) -> None:
        store_id = self.store_id
        if store_id is None:
            self._show_files([])
            return

        def fetch(client: EngineClient) -> tuple[str, list[dict[str, Any]], list[dict[str, Any]]]:
            return store_id, client.vector_store_files(store_id), client.watched_folders(store_id)

        self.calls.run(fetch, self._show_fetched)

    def _show_fetched(self, fetched: tuple[str, list[Any], list[Any]]) -> None:
        store_id, files, folders = fetched
        if store_id != self.store_id:
            return  # another collection was chosen meanwhile
        names = [f"{f['path']} ({f['files']})" + (f" — {f['last_error']}" if f["last_error"]
                 else "") for f in folders]  # fmt: skip
        self.folders_label.setText(
            self.tr("Watched folders: %1").replace("%1", "; ".join(names)) if names else ""
        )
        self._show_files(files)

    def _show_files(self, files: list[dict[str, Any]]) -> None:
        self.files = files
        self.file_table.setRowCount(0)
        for entry in sorted(files, key=lambda f: f["filename"]):
            row = self.file_table.rowCount()
            self.file_table.insertRow(row)
            status = entry["status"]
            if status == "in_progress":
                details = f"{round(100 * (entry.get('progress') or 0))} %"
            elif status == "failed":
                details = (entry.get("last_error") or {}).get("message", "")
            else:
                details = ""
            cells = [entry["filename"], self.status_words.get(status, status), details]
            for col, text in enumerate(cells):
                self.file_table.setItem(row, col, QTableWidgetItem(text))
        indexing = any(f["status"] == "in_progress" for f in files)
        if indexing and not self.poll.isActive():
            self.poll.start()
        elif not indexing:
            self.poll.stop()

    def _choose_files(self) -> None:
        names, _ = QFileDialog.getOpenFileNames(self, self.tr("Add files to the collection"))
        self.add_paths([Path(n) for n in names])

    def _choose_folder(self) -> None:
        name = QFileDialog.getExistingDirectory(self, self.tr("Watch a folder"))
        if name:
            self.add_paths([Path(name)])

    def add_paths(self, paths: list[Path]) -> None:
        """Files are uploaded and indexed; folders are watched."""
        store_id = self.store_id
        if store_id is None:
            self.notice.emit(self.tr("Create a collection first."))
            return

        def add(client: EngineClient) -> int:
            for path in paths:
                if path.is_dir():
                    client.watch_folder(store_id, path)
                else:
                    client.add_to_vector_store(store_id, path)
            return len(paths)

        self.calls.run(add, lambda _n: self.refresh_files())

    def files_dropped(self, paths: list[Path]) -> None:
        self.add_paths(paths)

    # -- search ----------------------------------------------------------------------------
    def search(self) -> None:
        query = self.search_box.text().strip()
        store_id = self.store_id
        if not query or store_id is None:
            return
        self.calls.run(lambda c: c.search_vector_store(store_id, query),
                       lambda hits: self._show_hits(query, hits))  # fmt: skip

    def _show_hits(self, query: str, hits: list[dict[str, Any]]) -> None:
        self.hits = hits
        if not hits:
            self.results.setHtml(html.escape(self.tr("Nothing found.")))
            return
        parts = []
        for hit in hits:
            where = place_of(hit)
            title = html.escape(hit["filename"] + (f" · {where}" if where else ""))
            text = highlighted(hit["content"][0]["text"], query)
            parts.append(f"<p><b>{title}</b> <span style='color:{colours().muted}'>"
                         f"{hit['score']:.2f}</span><br>{text}</p>")  # fmt: skip
        self.results.setHtml("".join(parts))

    def _update_buttons(self) -> None:
        chosen = self.store_id is not None
        for button in (self.delete_button, self.add_files_button, self.add_folder_button):
            button.setEnabled(chosen)
        self.search_box.setEnabled(chosen)
