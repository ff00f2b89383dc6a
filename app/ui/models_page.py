"""Installed models (size, quantisation, context, capabilities), the catalog with download
progress, cancel and resume, importing a local GGUF, and deleting."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.engine_calls import EngineCalls
from app.engine_client import EngineClient
from app.tasks import Handle
from engine.schemas import CatalogEntry, ModelDetail


def human_size(size: int | None) -> str:
    if not size:
        return "—"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB"):
        if value < 1024 or unit == "GB":
            return f"{value:.0f} {unit}" if unit in ("B", "KB") else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GB"


class ModelsPage(QWidget):
    notice = Signal(str)
    models_changed = Signal()

    def __init__(self, calls: EngineCalls) -> None:
        super().__init__()
        self.calls = calls
        self.downloads: dict[str, Handle] = {}
        self.progress: dict[str, QProgressBar] = {}
        self.installed = QTableWidget(0, 6)
        self.installed.setObjectName("installed_models")
        self.installed.setAccessibleName(self.tr("Installed models"))
        self.installed.setHorizontalHeaderLabels(
            [
                self.tr("Model"),
                self.tr("Size"),
                self.tr("Quantisation"),
                self.tr("Context"),
                self.tr("Capabilities"),
                "",
            ]
        )
        self.installed.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.installed.verticalHeader().hide()
        self.catalog = QTableWidget(0, 6)
        self.catalog.setObjectName("catalog_models")
        self.catalog.setAccessibleName(self.tr("Models to download"))
        self.catalog.setHorizontalHeaderLabels(
            [
                self.tr("Model"),
                self.tr("Kind"),
                self.tr("Size"),
                self.tr("Licence"),
                self.tr("Download"),
                "",
            ]
        )
        self.catalog.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        self.catalog.verticalHeader().hide()
        import_button = QPushButton(self.tr("Import a GGUF file…"))
        import_button.clicked.connect(self._choose_import)
        refresh = QPushButton(self.tr("Refresh"))
        refresh.clicked.connect(self.refresh)
        row = QHBoxLayout()
        row.addWidget(import_button)
        row.addWidget(refresh)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(QLabel("<b>" + self.tr("Installed") + "</b>"))
        layout.addWidget(self.installed, 1)
        layout.addWidget(QLabel("<b>" + self.tr("Catalog") + "</b>"))
        layout.addWidget(self.catalog, 1)

    def refresh(self) -> None:
        def details(client: EngineClient) -> list[ModelDetail]:
            out = []
            for card in client.models().data:
                if "remote" in card.capabilities:
                    continue
                out.append(
                    client.model(card.id)
                    if card.kind == "chat"
                    else ModelDetail(**card.model_dump())
                )
            return out

        self.calls.run(details, self._show_installed)
        self.calls.run(lambda c: c.catalog(), self._show_catalog)

    def _show_installed(self, models: list[ModelDetail]) -> None:
        self.installed.setRowCount(0)
        for m in models:
            row = self.installed.rowCount()
            self.installed.insertRow(row)
            cells = [
                m.id,
                human_size(m.size_bytes),
                m.quantization or "—",
                str(m.context_length or "—"),
                ", ".join(m.capabilities) or m.kind,
            ]
            for col, text in enumerate(cells):
                self.installed.setItem(row, col, QTableWidgetItem(text))
            if not m.embedded:
                delete = QPushButton(self.tr("Delete"))
                delete.clicked.connect(lambda _=False, i=m.id: self.delete(i))
                self.installed.setCellWidget(row, 5, delete)
            else:
                self.installed.setItem(row, 5, QTableWidgetItem(self.tr("built in")))

    def _show_catalog(self, entries: list[CatalogEntry]) -> None:
        self.catalog.setRowCount(0)
        self.progress = {}
        for entry in entries:
            row = self.catalog.rowCount()
            self.catalog.insertRow(row)
            name = entry.name
            if entry.recommended:
                name += "  ★ " + self.tr("recommended for this computer")
            elif entry.fits is False:
                name += "  — " + self.tr("needs more memory than is free")
            cells = [name, entry.kind, human_size(entry.size_bytes), entry.license]
            for col, text in enumerate(cells):
                self.catalog.setItem(row, col, QTableWidgetItem(text))
            bar = QProgressBar()
            bar.setRange(0, 100)
            bar.setValue(100 if entry.installed else 0)
            bar.setFormat(self.tr("installed") if entry.installed else "%p%")
            self.progress[entry.id] = bar
            self.catalog.setCellWidget(row, 4, bar)
            if entry.id in self.downloads:
                button = QPushButton(self.tr("Cancel"))
                button.clicked.connect(lambda _=False, i=entry.id: self.cancel(i))
            elif not entry.installed:
                button = QPushButton(self.tr("Download"))
                button.clicked.connect(lambda _=False, i=entry.id: self.download(i))
            else:
                continue
            self.catalog.setCellWidget(row, 5, button)

    def download(self, model_id: str) -> None:
        """Start (or resume: the engine keeps partial files) a catalog download."""

        def percent(value: int) -> None:
            bar = self.progress.get(model_id)
            if bar is not None:
                bar.setValue(value)

        def done() -> None:
            self.downloads.pop(model_id, None)
            self.notice.emit(self.tr("Downloaded %1").replace("%1", model_id))
            self.refresh()
            self.models_changed.emit()

        def failed(message: str) -> None:
            self.downloads.pop(model_id, None)
            self.notice.emit(message)
            self.refresh()

        self.downloads[model_id] = self.calls.pull(model_id, percent, done, failed)
        self.refresh()

    def cancel(self, model_id: str) -> None:
        handle = self.downloads.pop(model_id, None)
        if handle is not None:
            handle.cancel()  # closing the stream cancels the download; its part file is kept
        self.notice.emit(self.tr("Download cancelled; it resumes where it stopped."))
        self.refresh()

    def _choose_import(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, self.tr("Import a model"), "", "GGUF (*.gguf)")
        if name:
            self.import_file(Path(name))

    def import_file(self, path: Path) -> None:
        def imported(model_id: str) -> None:
            self.notice.emit(self.tr("Imported %1").replace("%1", model_id))
            self.refresh()
            self.models_changed.emit()

        self.calls.run(lambda c: c.import_model(path), imported)

    def delete(self, model_id: str, confirm: bool = True) -> None:
        if confirm:
            answer = QMessageBox.question(
                self,
                self.tr("Delete model"),
                self.tr("Delete %1 from this device?").replace("%1", model_id),
            )
            if answer != QMessageBox.StandardButton.Yes:
                return

        def deleted(_: object) -> None:
            self.refresh()
            self.models_changed.emit()

        self.calls.run(lambda c: c.remove_model(model_id), deleted)
