"""Settings: models and hardware, privacy, remote providers and keys, the local API, language.

Engine settings are sent with PATCH /v1/settings (applied at once and kept in engine.toml);
the language is the desktop's own and applies at the next start.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QSettings, Qt, Signal
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.engine_calls import EngineCalls
from app.engine_client import EngineClient
from app.ui import theme
from app.ui.dictation_bar import DEVICE_KEY, SEND_ON_STOP_KEY
from app.ui.mcp_box import McpBox
from app.ui.microphone import input_devices
from app.ui.models_page import human_size
from engine.schemas import EngineSettingsView, ModelCard, Provider, ProviderView

MASK = "••••••••"
LANGUAGES = (("en", "English"), ("zh_CN", "简体中文"))
ROUTES = ("local_only", "local_first", "remote_first", "remote_only")


class SettingsPage(QWidget):
    notice = Signal(str)
    applied = Signal(object)  # the engine's settings after a change
    theme_chosen = Signal(str)  # system, light or dark
    token_rotated = Signal()

    def __init__(self, calls: EngineCalls) -> None:
        super().__init__()
        self.calls = calls
        self.current: EngineSettingsView | None = None
        self.chat_models: dict[str, ModelCard] = {}
        content = QWidget()
        layout = QVBoxLayout(content)
        layout.addWidget(self._models_box())
        layout.addWidget(self._privacy_box())
        layout.addWidget(self._providers_box())
        self.mcp = McpBox(calls)
        self.mcp.notice.connect(self.notice)
        layout.addWidget(self.mcp)
        layout.addWidget(self._api_box())
        layout.addWidget(self._language_box())
        layout.addWidget(self._appearance_box())
        layout.addWidget(self._microphone_box())
        self.apply_button = QPushButton(self.tr("Apply"))
        self.apply_button.clicked.connect(self.apply)
        layout.addWidget(self.apply_button, 0, Qt.AlignmentFlag.AlignRight)
        layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(content)
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.addWidget(scroll)

    # -- sections --------------------------------------------------------------------------
    def _models_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Models and hardware"))
        form = QFormLayout(box)
        self.models_dir = QLineEdit()
        browse = QPushButton(self.tr("Choose…"))
        browse.clicked.connect(self._choose_folder)
        row = QHBoxLayout()
        row.addWidget(self.models_dir, 1)
        row.addWidget(browse)
        form.addRow(self.tr("Models folder"), row)
        self.default_model = QComboBox()
        self.default_speech = QComboBox()
        form.addRow(self.tr("Default chat model"), self.default_model)
        form.addRow(self.tr("Default transcription model"), self.default_speech)
        self.n_ctx = QSpinBox()
        self.n_ctx.setRange(256, 131072)
        self.n_ctx.setSingleStep(1024)
        form.addRow(self.tr("Context size (tokens)"), self.n_ctx)
        self.n_threads = QSpinBox()
        self.n_threads.setRange(0, 256)
        self.n_threads.setSpecialValueText(self.tr("automatic"))
        form.addRow(self.tr("CPU threads"), self.n_threads)
        self.gpu_auto = QCheckBox(self.tr("Automatic (as many layers as fit)"))
        self.gpu_layers = QSlider(Qt.Orientation.Horizontal)
        self.gpu_layers.setRange(0, 100)
        self.gpu_estimate = QLabel()
        self.gpu_auto.toggled.connect(lambda on: self.gpu_layers.setEnabled(not on))
        self.gpu_layers.valueChanged.connect(self._estimate)
        self.default_model.currentIndexChanged.connect(self._estimate)
        gpu = QVBoxLayout()
        gpu.addWidget(self.gpu_auto)
        gpu.addWidget(self.gpu_layers)
        gpu.addWidget(self.gpu_estimate)
        form.addRow(self.tr("GPU layers"), gpu)
        return box

    def _privacy_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Privacy"))
        form = QFormLayout(box)
        self.route_policy = QComboBox()
        labels = {
            "local_only": self.tr("Local only (nothing leaves this device)"),
            "local_first": self.tr("Local first, remote as a fallback"),
            "remote_first": self.tr("Remote first, local as a fallback"),
            "remote_only": self.tr("Remote only"),
        }
        for route in ROUTES:
            self.route_policy.addItem(labels[route], route)
        form.addRow(self.tr("Routing"), self.route_policy)
        self.default_remote = QLineEdit()
        self.default_remote.setPlaceholderText("provider/model")
        form.addRow(self.tr("Fallback remote model"), self.default_remote)
        self.redact_words = QLineEdit()
        self.redact_words.setPlaceholderText(self.tr("comma-separated names and words"))
        form.addRow(self.tr("Always redact"), self.redact_words)
        self.redact_patterns = QPlainTextEdit()
        self.redact_patterns.setPlaceholderText(self.tr("one regular expression per line"))
        self.redact_patterns.setMaximumHeight(60)
        form.addRow(self.tr("Redaction patterns"), self.redact_patterns)
        self.moderation = QCheckBox(self.tr("Apply the moderation lists"))
        self.memory_from_chat = QCheckBox(self.tr('Save "remember that …" as a memory'))
        self.audit_content = QCheckBox(self.tr("Keep message text in the audit log"))
        self.ollama_open = QCheckBox(
            self.tr("Let programs on this computer use the Ollama API without the token")
        )
        self.ollama_open.setToolTip(
            self.tr(
                "Ollama's clients (Open WebUI, editor plugins) send no token. With this on, any program running on this computer can use /api/* on Hearth's port; other machines and web pages still cannot."
            )
        )
        for check in (self.moderation, self.memory_from_chat, self.audit_content, self.ollama_open):
            form.addRow("", check)
        return box

    def _providers_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Remote providers and keys"))
        layout = QVBoxLayout(box)
        self.providers = QListWidget()
        self.providers.setObjectName("providers")
        self.providers.setMaximumHeight(90)
        layout.addWidget(self.providers)
        form = QFormLayout()
        self.provider_name = QLineEdit()
        self.provider_url = QLineEdit()
        self.provider_url.setPlaceholderText("https://api.example.com/v1")
        self.provider_models = QLineEdit()
        self.provider_models.setPlaceholderText(self.tr("comma-separated model names"))
        self.provider_key = QLineEdit()
        self.provider_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.provider_key.setPlaceholderText(self.tr("kept in the key store, never shown again"))
        form.addRow(self.tr("Name"), self.provider_name)
        form.addRow(self.tr("Base URL"), self.provider_url)
        form.addRow(self.tr("Models"), self.provider_models)
        form.addRow(self.tr("API key"), self.provider_key)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        for label, slot in (
            (self.tr("Add provider"), self.add_provider),
            (self.tr("Test selected"), self._test_selected),
            (self.tr("Remove selected"), self._remove_selected),
        ):
            button = QPushButton(label)
            button.clicked.connect(slot)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.keys = QListWidget()
        self.keys.setObjectName("keys")
        self.keys.setMaximumHeight(70)
        layout.addWidget(QLabel(self.tr("Keys in the key store")))
        layout.addWidget(self.keys)
        state_row = QHBoxLayout()
        self.key_store_state = QLabel()
        self.key_store_state.setObjectName("key_store_state")
        self.key_store_state.setWordWrap(True)
        state_row.addWidget(self.key_store_state, 1)
        self.unlock_button = QPushButton(self.tr("Unlock…"))
        self.unlock_button.setObjectName("unlock_keys")
        self.unlock_button.clicked.connect(self._unlock)
        state_row.addWidget(self.unlock_button)
        layout.addLayout(state_row)
        return box

    def _unlock(self) -> None:
        def unlock(client: EngineClient) -> str:
            if client.unlocker is not None:
                client.unlocker(client)
            return client.key_store_state()

        self.calls.run(unlock, lambda _state: self.refresh())

    def _show_key_store(self, state: str) -> None:
        texts = {
            "unlocked": self.tr("Key store: open."),
            "locked": self.tr(
                "Key store: locked. Hearth asks for its passphrase when a secret is needed."
            ),
            "new": self.tr(
                "Key store: no passphrase yet. Hearth asks you to choose one when you first store a key."
            ),
            "unavailable": self.tr("Key store: the system keyring does not answer."),
        }
        self.key_store_state.setText(texts.get(state, state))
        self.unlock_button.setVisible(state in ("locked", "new"))

    def _api_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Local API (for other tools)"))
        form = QFormLayout(box)
        self.api_address = QLineEdit()
        self.api_address.setReadOnly(True)
        copy_address = QPushButton(self.tr("Copy"))
        copy_address.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.api_address.text())
        )
        row = QHBoxLayout()
        row.addWidget(self.api_address, 1)
        row.addWidget(copy_address)
        form.addRow(self.tr("Address"), row)
        self.token = QLineEdit()
        self.token.setReadOnly(True)
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        show = QPushButton(self.tr("Show"))
        show.setCheckable(True)
        show.toggled.connect(
            lambda on: self.token.setEchoMode(
                QLineEdit.EchoMode.Normal if on else QLineEdit.EchoMode.Password
            )
        )
        copy_token = QPushButton(self.tr("Copy"))
        copy_token.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.token.text()))
        rotate = QPushButton(self.tr("Rotate"))
        rotate.clicked.connect(self.rotate_token)
        token_row = QHBoxLayout()
        token_row.addWidget(self.token, 1)
        for button in (show, copy_token, rotate):
            token_row.addWidget(button)
        form.addRow(self.tr("API token"), token_row)
        return box

    def _language_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Language"))
        form = QFormLayout(box)
        self.language = QComboBox()
        for code, name in LANGUAGES:
            self.language.addItem(name, code)
        saved = str(QSettings().value("language", ""))
        self.language.setCurrentIndex(max(0, self.language.findData(saved)))
        self.language.currentIndexChanged.connect(
            lambda _i: QSettings().setValue("language", self.language.currentData())
        )
        form.addRow(self.tr("Interface language (after a restart)"), self.language)
        return box

    def _appearance_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Appearance"))
        form = QFormLayout(box)
        self.theme = QComboBox()
        self.theme.setAccessibleName(self.tr("Theme"))
        for code, name in (("system", self.tr("As the system")), ("light", self.tr("Light")),
                           ("dark", self.tr("Dark"))):  # fmt: skip
            self.theme.addItem(name, code)
        self.theme.setCurrentIndex(max(0, self.theme.findData(theme.chosen())))
        self.theme.currentIndexChanged.connect(self._theme_changed)
        form.addRow(self.tr("Theme"), self.theme)
        return box

    def _theme_changed(self, _index: int) -> None:
        choice = str(self.theme.currentData())
        QSettings().setValue(theme.THEME_KEY, choice)
        self.theme_chosen.emit(choice)

    def _microphone_box(self) -> QGroupBox:
        box = QGroupBox(self.tr("Microphone"))
        form = QFormLayout(box)
        self.microphone = QComboBox()
        self.microphone.setAccessibleName(self.tr("Microphone"))
        self.microphone.currentIndexChanged.connect(
            lambda _i: QSettings().setValue(DEVICE_KEY, self.microphone.currentData() or "")
        )
        form.addRow(self.tr("Record from"), self.microphone)
        self.send_on_stop = QCheckBox(self.tr("Send the message as soon as I stop dictating"))
        self.send_on_stop.setChecked(bool(QSettings().value(SEND_ON_STOP_KEY, False, type=bool)))
        self.send_on_stop.toggled.connect(lambda on: QSettings().setValue(SEND_ON_STOP_KEY, on))
        form.addRow("", self.send_on_stop)
        return box

    def show_microphones(self) -> None:
        """The devices there are now (asked when the page is shown: plugging one in shows)."""
        saved = str(QSettings().value(DEVICE_KEY, "") or "")
        self.microphone.blockSignals(True)
        self.microphone.clear()
        self.microphone.addItem(self.tr("The system's default"), "")
        for device in input_devices():
            self.microphone.addItem(device.name, device.id)
        self.microphone.setCurrentIndex(max(0, self.microphone.findData(saved)))
        self.microphone.blockSignals(False)

    # -- loading ---------------------------------------------------------------------------
    def refresh(self) -> None:
        self.mcp.refresh()
        self.show_microphones()

        def fetch(client: EngineClient) -> dict[str, Any]:
            return {
                "settings": client.settings(),
                "models": client.models().data,
                "providers": client.providers(),
                "keys": client.key_names(),
                "key_store": client.key_store_state(),
                "url": client.base_url,
                "token": client.token or "",
            }

        self.calls.run(fetch, self._show)

    def _show(self, data: dict[str, Any]) -> None:
        s: EngineSettingsView = data["settings"]
        self.current = s
        cards: list[ModelCard] = data["models"]
        self.chat_models = {
            c.id: c for c in cards if c.kind == "chat" and "remote" not in c.capabilities
        }
        _fill(self.default_model, list(self.chat_models), s.default_model)
        _fill(
            self.default_speech,
            [c.id for c in cards if c.kind == "transcription"],
            s.default_transcription_model,
        )
        self.models_dir.setText(s.models_dir)
        self.n_ctx.setValue(s.n_ctx)
        self.n_threads.setValue(s.n_threads)
        self.gpu_auto.setChecked(s.n_gpu_layers == "auto")
        self.gpu_layers.setValue(100 if s.n_gpu_layers in ("all", "auto") else int(s.n_gpu_layers))
        self.gpu_layers.setEnabled(s.gpu_offload and s.n_gpu_layers != "auto")
        self.gpu_auto.setEnabled(s.gpu_offload)
        self.route_policy.setCurrentIndex(max(0, self.route_policy.findData(s.route_policy)))
        self.default_remote.setText(s.default_remote_model or "")
        self.redact_words.setText(", ".join(s.redact_words))
        self.redact_patterns.setPlainText("\n".join(s.redact_patterns))
        self.moderation.setChecked(s.moderation)
        self.memory_from_chat.setChecked(s.memory_from_chat)
        self.audit_content.setChecked(s.audit_content)
        self.ollama_open.setChecked(s.ollama_without_token)
        self._show_providers(data["providers"])
        self._show_key_store(data["key_store"])
        self.keys.clear()
        for name in data["keys"]:
            self.keys.addItem(f"{name}   {MASK}")
        self.api_address.setText(data["url"] + "/v1")
        self.token.setText(data["token"])
        self._estimate()

    def _show_providers(self, providers: list[ProviderView]) -> None:
        self.providers.clear()
        for p in providers:
            text = f"{p.name} — {p.base_url} ({', '.join(p.models) or '—'})"
            if p.key_locked:
                text += "  " + self.tr("[key locked]")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, p.name)
            self.providers.addItem(item)

    def _estimate(self) -> None:
        if self.current is None:
            return
        if not self.current.gpu_offload:
            self.gpu_estimate.setText(
                self.tr("This build runs models on the CPU (no GPU offload).")
            )
            return
        card = self.chat_models.get(str(self.default_model.currentData()))
        size = card.size_bytes if card else None
        share = 1.0 if self.gpu_auto.isChecked() else self.gpu_layers.value() / 100
        self.gpu_estimate.setText(
            self.tr("About %1 of GPU memory for the default model").replace(
                "%1", human_size(int((size or 0) * share))
            )
        )

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, self.tr("Models folder"), self.models_dir.text()
        )
        if folder:
            self.models_dir.setText(folder)

    # -- applying --------------------------------------------------------------------------
    def changes(self) -> dict[str, Any]:
        """What differs from the engine's settings now."""
        s = self.current
        if s is None:
            return {}
        gpu: int | str = (
            "auto"
            if self.gpu_auto.isChecked()
            else ("all" if self.gpu_layers.value() == 100 else self.gpu_layers.value())
        )
        wanted: dict[str, Any] = {
            "models_dir": self.models_dir.text().strip(),
            "default_model": self.default_model.currentData() or s.default_model,
            "default_transcription_model": self.default_speech.currentData()
            or s.default_transcription_model,
            "n_ctx": self.n_ctx.value(),
            "n_threads": self.n_threads.value(),
            "n_gpu_layers": gpu if s.gpu_offload else s.n_gpu_layers,
            "route_policy": self.route_policy.currentData(),
            "default_remote_model": self.default_remote.text().strip() or None,
            "redact_words": [w.strip() for w in self.redact_words.text().split(",") if w.strip()],
            "redact_patterns": [
                p for p in self.redact_patterns.toPlainText().splitlines() if p.strip()
            ],
            "moderation": self.moderation.isChecked(),
            "memory_from_chat": self.memory_from_chat.isChecked(),
            "audit_content": self.audit_content.isChecked(),
            "ollama_without_token": self.ollama_open.isChecked(),
        }
        now = s.model_dump()
        return {k: v for k, v in wanted.items() if now.get(k) != v}

    def apply(self) -> None:
        changes = self.changes()
        if not changes:
            self.notice.emit(self.tr("Nothing to change."))
            return

        def done(view: EngineSettingsView) -> None:
            self.current = view
            self.notice.emit(self.tr("Settings saved."))
            self.applied.emit(view)

        self.calls.run(lambda c: c.update_settings(**changes), done)

    def add_provider(self) -> None:
        name = self.provider_name.text().strip()
        url = self.provider_url.text().strip()
        key = self.provider_key.text()
        models = [m.strip() for m in self.provider_models.text().split(",") if m.strip()]
        key_name = f"{name}-api-key" if key else None

        def save(client: EngineClient) -> Provider:
            if key and key_name:
                client.set_key(key_name, key)
            return client.add_provider(name=name, base_url=url, models=models, key_name=key_name)

        def saved(p: Provider) -> None:
            self.provider_key.clear()
            self.notice.emit(self.tr("Provider %1 saved.").replace("%1", p.name))
            self.refresh()
            self.applied.emit(None)  # the model picker and the "fully local" badge change

        self.calls.run(save, saved)

    def _selected_provider(self) -> str | None:
        item = self.providers.currentItem()
        return str(item.data(Qt.ItemDataRole.UserRole)) if item else None

    def _test_selected(self) -> None:
        name = self._selected_provider()
        if name:
            self.calls.run(
                lambda c: c.test_provider(name),
                lambda models: self.notice.emit(
                    self.tr("%1 answers: %2")
                    .replace("%1", name)
                    .replace("%2", ", ".join(models) or "—")
                ),
            )

    def _remove_selected(self) -> None:
        name = self._selected_provider()
        if name:
            self.calls.run(lambda c: c.remove_provider(name), lambda _r: self.refresh())

    def rotate_token(self) -> None:
        def done(token: str) -> None:
            self.token.setText(token)
            self.notice.emit(
                self.tr("A new API token is in use; update other tools that used the old one.")
            )
            self.token_rotated.emit()

        self.calls.run(lambda c: c.rotate_token(), done)


def _fill(combo: QComboBox, ids: list[str], current: str) -> None:
    combo.blockSignals(True)
    combo.clear()
    for model_id in ids:
        combo.addItem(model_id, model_id)
    combo.setCurrentIndex(max(0, combo.findData(current)))
    combo.blockSignals(False)
