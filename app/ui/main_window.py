"""The main window: pages for chat, transcription, knowledge, customising (fine-tuning),
models, usage and settings; the engine's status; files dropped anywhere on the window."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QStackedWidget,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from app.attachments import kind_of
from app.engine_calls import EngineCalls
from app.engine_link import EngineLink, UnlockQuestion
from app.presets import PresetStore, default_presets_path
from app.tasks import Tasks
from app.ui import theme
from app.ui.chat_page import ChatPage
from app.ui.customise_page import CustomisePage
from app.ui.dictation_bar import SHORTCUT
from app.ui.drop_cards import ImageCard, TranscriptCard, _Card
from app.ui.icons import app_icon, icon
from app.ui.knowledge_page import KnowledgePage
from app.ui.models_page import ModelsPage
from app.ui.quick_ask import QuickAsk
from app.ui.settings_page import SettingsPage
from app.ui.theme import ThemeFollower
from app.ui.transcribe_page import TranscribePage
from app.ui.unlock_dialog import UnlockDialog
from app.ui.usage_page import UsagePage
from engine.schemas import Health, ModelCard

NOTICE_MS = 8000
NAV_ICONS = ("chat", "transcribe", "knowledge", "customise", "models", "usage", "settings")


class MainWindow(QMainWindow):
    def __init__(self, link: EngineLink, tasks: Tasks, env: dict[str, str] | None = None) -> None:
        super().__init__()
        self.link = link
        self.tasks = tasks
        self.calls = EngineCalls(link, tasks, self.show_error)
        self.health: Health | None = None
        self.cards: list[_Card] = []
        self.notices: list[str] = []  # everything said to the user, newest last
        self.unlock_dialog: UnlockDialog | None = None
        self.setWindowTitle(self.tr("Hearth"))
        theme.apply()
        self.theme_follower = ThemeFollower(self)
        self.setWindowIcon(app_icon())
        self.resize(1200, 780)
        geometry = QSettings().value("window/geometry")
        if isinstance(geometry, QByteArray):
            self.restoreGeometry(geometry)
        self.setAcceptDrops(True)

        presets = PresetStore(default_presets_path(env))
        self.chat = ChatPage(self.calls, presets)
        self.transcribe = TranscribePage(self.calls)
        self.models = ModelsPage(self.calls)
        self.knowledge = KnowledgePage(self.calls)
        self.knowledge.collections_changed.connect(self.chat.collections.set_collections)
        self.customise = CustomisePage(self.calls)
        self.customise.chat_with.connect(self.chat_with)
        self.usage = UsagePage(self.calls)
        self.settings = SettingsPage(self.calls)
        self.pages = QStackedWidget()
        self.nav = QListWidget()
        self.nav.setObjectName("nav")
        self.nav.setFixedWidth(150)
        self.nav.setAccessibleName(self.tr("Pages"))
        for page, label in (
            (self.chat, self.tr("Chat")),
            (self.transcribe, self.tr("Transcribe")),
            (self.knowledge, self.tr("Knowledge")),
            (self.customise, self.tr("Customise")),
            (self.models, self.tr("Models")),
            (self.usage, self.tr("Usage")),
            (self.settings, self.tr("Settings")),
        ):
            self.pages.addWidget(page)
            self.nav.addItem(label)
            page.setAccessibleName(label)
            page.notice.connect(self.show_notice)
        self._paint_icons()
        self.nav.currentRowChanged.connect(self._show_page)
        self.nav.setCurrentRow(0)

        central = QWidget()
        row = QHBoxLayout(central)
        row.addWidget(self.nav)
        row.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.status_dot = QLabel("●")
        self.status_label = QLabel()
        self.local_label = QLabel()
        self.training_label = QLabel()
        self.training_label.setObjectName("training_notice")
        self.statusBar().addPermanentWidget(self.training_label)
        self.statusBar().addPermanentWidget(self.local_label)
        self.customise.training.connect(
            lambda on: self.training_label.setText(self.tr("Training a model…") if on else "")
        )
        self.statusBar().addWidget(self.status_dot)
        self.statusBar().addWidget(self.status_label, 1)

        link.status.connect(self._on_status)
        link.ready.connect(self._on_ready)
        link.unlocker.asked.connect(self.ask_passphrase)
        link.restarted.connect(
            lambda why: self.show_notice(self.tr("The engine was restarted: %1").replace("%1", why))
        )
        self.models.models_changed.connect(self._on_models_changed)
        self.settings.applied.connect(lambda _v: self._on_models_changed())
        self.settings.theme_chosen.connect(self.restyle)
        self.chat.welcome.model_ready.connect(self._recommended_model_ready)
        self._on_status(link.state, link.detail)
        self._tray()
        self._shortcuts()

    def _tray(self) -> None:
        """The tray icon: click for the quick-ask window; its menu shows or quits Hearth."""
        self.quick_ask = QuickAsk(
            self.calls,
            lambda: {"model": self.chat.model_picker.currentData(),
                     **self.chat.params.values().sampling()},
        )  # fmt: skip
        self.quick_ask.open_requested.connect(self._open_from_quick_ask)
        self.tray = QSystemTrayIcon(app_icon(), self)
        self.tray.setToolTip(self.tr("Hearth"))
        menu = QMenu(self)
        menu.addAction(self.tr("Ask Hearth…"), self.show_quick_ask)
        menu.addAction(self.tr("Show Hearth"), self._bring_forward)
        menu.addSeparator()
        menu.addAction(self.tr("Quit"), self.close)
        self.tray.setContextMenu(menu)
        self.tray.activated.connect(self._tray_clicked)
        if QSystemTrayIcon.isSystemTrayAvailable():
            self.tray.show()

    def _tray_clicked(self, reason: QSystemTrayIcon.ActivationReason) -> None:
        if reason == QSystemTrayIcon.ActivationReason.Trigger:
            self.show_quick_ask()

    def show_quick_ask(self) -> None:
        self.quick_ask.show()
        self.quick_ask.raise_()
        self.quick_ask.activateWindow()
        self.quick_ask.question.setFocus()
        self.quick_ask.question.selectAll()

    def _bring_forward(self) -> None:
        self.showNormal()
        self.raise_()
        self.activateWindow()

    def _open_from_quick_ask(self, conv_id: str) -> None:
        self.show_page(self.chat)
        self.chat.open_conversation(conv_id)
        self.chat.sidebar.refresh()
        self._bring_forward()

    def _shortcuts(self) -> None:
        for keys, slot in (
            ("Ctrl+N", self._new_chat),
            ("Ctrl+Return", self.chat.send_message),
            ("Escape", self._escape),
            (SHORTCUT, self.chat.dictation.toggle),
            ("Ctrl+F", self._search),
            ("Ctrl+,", lambda: self.show_page(self.settings)),
            ("Ctrl+Shift+A", self.show_quick_ask),
        ):
            QShortcut(QKeySequence(keys), self, slot)
        for i in range(self.nav.count()):
            QShortcut(QKeySequence(f"Ctrl+{i + 1}"), self, partial(self.nav.setCurrentRow, i))

    def _escape(self) -> None:
        """Esc cancels a dictation (keeping nothing), or else stops the reply."""
        if self.chat.dictation.active:
            self.chat.dictation.cancel()
        else:
            self.chat.stop_reply()

    def _paint_icons(self) -> None:
        for row, name in enumerate(NAV_ICONS):
            self.nav.item(row).setIcon(icon(name))

    def restyle(self, choice: str | None = None) -> None:
        """Apply a theme now: colours, icons and the transcript redrawn."""
        theme.apply(choice)
        self._paint_icons()
        self.chat.restyle()
        self._on_status(self.link.state, self.link.detail)

    def show_page(self, page: QWidget) -> None:
        self.nav.setCurrentRow(self.pages.indexOf(page))

    def chat_with(self, model_id: str) -> None:
        """A new chat with `model_id` chosen (a model just tuned: the list is fetched again)."""
        self.chat.new_chat()
        self.chat.choose_model(model_id)
        self._on_models_changed()
        self.show_page(self.chat)

    def _new_chat(self) -> None:
        self.nav.setCurrentRow(0)
        self.chat.new_chat()

    def _search(self) -> None:
        self.nav.setCurrentRow(0)
        self.chat.search.setFocus()
        self.chat.search.selectAll()

    def _show_page(self, row: int) -> None:
        self.pages.setCurrentIndex(row)
        if self.link.client is not None and self.link.state in ("ready", "busy"):
            page = self.pages.currentWidget()
            if page in (self.models, self.usage, self.settings, self.knowledge, self.customise):
                page.refresh()

    # -- engine state ----------------------------------------------------------------------
    def _on_status(self, state: str, detail: str) -> None:
        names = {
            "starting": self.tr("Starting"),
            "ready": self.tr("Ready"),
            "busy": self.tr("Working"),
            "failed": self.tr("Engine problem"),
        }
        self.status_label.setProperty("state", state)
        c = theme.colours()
        dot = {"starting": c.warning, "ready": c.success, "busy": c.accent, "failed": c.danger}
        self.status_dot.setStyleSheet(f"color: {dot.get(state, c.muted)};")
        text = names.get(state, state)
        self.status_label.setText(f"{text} — {detail}" if detail else text)

    def _on_ready(self) -> None:
        self.chat.refresh_conversations()
        self.chat.welcome.refresh()
        self.knowledge.refresh()  # the chat's collection picker lists them too
        self.customise.refresh()  # a job still training shows in the status bar
        self._on_models_changed()
        self._show_page(self.nav.currentRow())

    def _recommended_model_ready(self, model_id: str) -> None:
        self.chat.choose_model(model_id)
        self._on_models_changed()
        self.models.refresh()

    def _on_models_changed(self) -> None:
        """One fetch of the model list serves the chat's picker, the transcription queue and the
        base models to customise."""
        self.calls.run(lambda c: c.health(), self._on_health)
        self.calls.run(lambda c: c.models().data, self._on_models)

    def _on_models(self, cards: list[ModelCard]) -> None:
        self.chat.show_models(cards)
        self.customise.set_models(cards)
        self.transcribe.set_speech_models([m.id for m in cards if m.kind == "transcription"])

    def _on_health(self, health: Health) -> None:
        self.health = health
        self.chat.set_default_model(health.default_model)
        if health.fully_local:
            self.local_label.setText(self.tr("Fully local"))
            self.local_label.setStyleSheet(f"color: {theme.colours().success}; font-weight: 600;")
            self.local_label.setToolTip(
                self.tr("No remote provider is enabled: nothing leaves this device.")
            )
        else:
            hosts = ", ".join(health.remote_hosts)
            self.local_label.setText(self.tr("May contact: %1").replace("%1", hosts))
            self.local_label.setStyleSheet(f"color: {theme.colours().warning}; font-weight: 600;")
            self.local_label.setToolTip(self.tr("Remote providers are configured."))

    # -- messages to the user --------------------------------------------------------------
    def show_notice(self, message: str) -> None:
        self.notices.append(message)
        self.statusBar().showMessage(message, NOTICE_MS)

    def show_error(self, message: str) -> None:
        self.show_notice(message)

    def ask_passphrase(self, question: UnlockQuestion) -> None:
        """A request needs a secret and the key store is locked: ask here, on the UI thread;
        the waiting request goes on with the answer."""
        dialog = UnlockDialog(question.state, question.error, self)
        self.unlock_dialog = dialog  # reachable by tests while it is open
        try:
            if dialog.exec() == QDialog.DialogCode.Accepted:
                question.answer(dialog.passphrase.text(), dialog.remember.isChecked())
            else:
                question.answer(None)
        finally:
            self.unlock_dialog = None

    def confirm(self, title: str, question: str) -> bool:
        answer = QMessageBox.question(self, title, question)
        return answer == QMessageBox.StandardButton.Yes

    # -- dropped files ---------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.open_files(paths)

    def open_files(self, paths: list[Path]) -> None:
        """Audio and video: transcribe; images: caption and text; .gguf: import as a model."""
        for path in paths:
            kind = kind_of(path)
            if kind is None or not path.is_file():
                self.show_error(
                    self.tr(
                        "%1 cannot be opened here: drop audio, video, images or .gguf model files."
                    ).replace("%1", path.name)
                )
            elif kind == "model":
                if self.confirm(
                    self.tr("Import model"),
                    self.tr("Import %1 as a model?").replace("%1", path.name),
                ):
                    self.models.import_file(path)
            elif self.nav.currentRow() == 1 and kind == "audio":
                self.transcribe.add_files([path])
                self.transcribe.start_all()
            else:
                self.nav.setCurrentRow(0)
                self._add_card(path, kind)

    def _add_card(self, path: Path, kind: str) -> None:
        card: _Card
        if kind == "audio":
            card = TranscriptCard(self.calls, path)
        else:
            can_caption = bool(self.health and self.health.vision_models)
            image = ImageCard(self.calls, path, can_caption)
            image.send_image.connect(self.chat.add_attachment)
            card = image
        card.insert_text.connect(self.chat.insert_text)
        card.open_document.connect(self.open_document)
        card.closed.connect(self._remove_card)
        self.cards.append(card)
        self.chat.drop_area.addWidget(card)

    def _remove_card(self, card: _Card) -> None:
        card.stop_watching()
        if card in self.cards:
            self.cards.remove(card)
        card.setParent(None)
        card.deleteLater()

    def open_document(self, title: str, text: str) -> None:
        dialog = QDialog(self)
        dialog.setWindowTitle(title)
        dialog.resize(640, 480)
        editor = QPlainTextEdit(text)
        save = QPushButton(self.tr("Save as…"))

        def save_text() -> None:
            name, _ = QFileDialog.getSaveFileName(
                dialog, self.tr("Save"), Path(title).stem + ".txt"
            )
            if name:
                Path(name).write_text(editor.toPlainText(), encoding="utf-8")

        save.clicked.connect(save_text)
        layout = QVBoxLayout(dialog)
        layout.addWidget(editor)
        layout.addWidget(save, 0, Qt.AlignmentFlag.AlignRight)
        dialog.show()

    # -- closing ---------------------------------------------------------------------------
    def closeEvent(self, event: QCloseEvent) -> None:
        QSettings().setValue("window/geometry", self.saveGeometry())
        for card in self.cards:
            card.stop_watching()
        self.chat.stop_reply()
        self.quick_ask.close()
        self.tray.hide()
        self.tasks.shutdown()
        self.link.stop()
        event.accept()
