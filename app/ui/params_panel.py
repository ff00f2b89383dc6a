"""Sampling parameters, system prompt and overflow policy, with scenario and saved presets."""

from __future__ import annotations

from PySide6.QtCore import QT_TRANSLATE_NOOP, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from app.presets import OVERFLOW_POLICIES, Preset, PresetStore

# The built-in presets' names, for the translators (lupdate reads these).
PRESET_NAMES = (
    QT_TRANSLATE_NOOP("ParamsPanel", "Balanced"),
    QT_TRANSLATE_NOOP("ParamsPanel", "Customer service"),
    QT_TRANSLATE_NOOP("ParamsPanel", "Writing"),
    QT_TRANSLATE_NOOP("ParamsPanel", "Coding"),
    QT_TRANSLATE_NOOP("ParamsPanel", "Data analysis"),
)


class ParamsPanel(QWidget):
    changed = Signal()
    problem = Signal(str)

    def __init__(self, store: PresetStore, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.preset = QComboBox()
        self.temperature = _spin(0.0, 2.0, 0.05)
        self.top_p = _spin(0.0, 1.0, 0.05)
        self.max_tokens = QSpinBox()
        self.max_tokens.setRange(1, 32768)
        self.frequency_penalty = _spin(-2.0, 2.0, 0.1)
        self.presence_penalty = _spin(-2.0, 2.0, 0.1)
        self.system_prompt = QPlainTextEdit()
        self.system_prompt.setAccessibleName(self.tr("System prompt"))
        self.system_prompt.setPlaceholderText(self.tr("Optional instructions for the model"))
        self.system_prompt.setMaximumHeight(110)
        self.overflow = QComboBox()
        labels = {
            "summarize": self.tr("Summarize older messages"),
            "rolling_window": self.tr("Drop the oldest messages"),
            "stop": self.tr("Stop and say so"),
        }
        for policy in OVERFLOW_POLICIES:
            self.overflow.addItem(labels[policy], policy)
        save = QPushButton(self.tr("Save as preset…"))
        save.clicked.connect(self._save)
        self.delete_button = QPushButton(self.tr("Delete preset"))
        self.delete_button.clicked.connect(self._delete)

        form = QFormLayout()
        form.addRow(self.tr("Preset"), self.preset)
        form.addRow(self.tr("Temperature"), self.temperature)
        form.addRow(self.tr("Top-p"), self.top_p)
        form.addRow(self.tr("Max tokens"), self.max_tokens)
        form.addRow(self.tr("Frequency penalty"), self.frequency_penalty)
        form.addRow(self.tr("Presence penalty"), self.presence_penalty)
        form.addRow(self.tr("When the context is full"), self.overflow)
        layout = QVBoxLayout(self)
        title = QLabel(self.tr("Parameters"))
        title.setStyleSheet("font-weight: 600;")
        layout.addWidget(title)
        layout.addLayout(form)
        layout.addWidget(QLabel(self.tr("System prompt")))
        layout.addWidget(self.system_prompt)
        buttons = QHBoxLayout()
        buttons.addWidget(save)
        buttons.addWidget(self.delete_button)
        layout.addLayout(buttons)
        layout.addStretch(1)
        self._reload("Balanced")
        self.preset.currentIndexChanged.connect(self._apply_preset)

    def _reload(self, select: str) -> None:
        self.preset.blockSignals(True)
        self.preset.clear()
        for p in self.store.all():
            self.preset.addItem(self.tr(p.name) if p.builtin else p.name, p)
        names = [p.name for p in self.store.all()]
        self.preset.setCurrentIndex(names.index(select) if select in names else 0)
        self.preset.blockSignals(False)
        self._apply_preset()

    def _apply_preset(self) -> None:
        p: Preset = self.preset.currentData()
        self.temperature.setValue(p.temperature)
        self.top_p.setValue(p.top_p)
        self.max_tokens.setValue(p.max_tokens)
        self.frequency_penalty.setValue(p.frequency_penalty)
        self.presence_penalty.setValue(p.presence_penalty)
        self.system_prompt.setPlainText(p.system_prompt)
        self.overflow.setCurrentIndex(max(0, self.overflow.findData(p.overflow_policy)))
        self.delete_button.setEnabled(not p.builtin)
        self.changed.emit()

    def values(self, name: str = "Custom") -> Preset:
        return Preset(
            name=name,
            temperature=round(self.temperature.value(), 3),
            top_p=round(self.top_p.value(), 3),
            max_tokens=self.max_tokens.value(),
            frequency_penalty=round(self.frequency_penalty.value(), 3),
            presence_penalty=round(self.presence_penalty.value(), 3),
            system_prompt=self.system_prompt.toPlainText().strip(),
            overflow_policy=str(self.overflow.currentData()),
        )

    def _save(self) -> None:
        name, ok = QInputDialog.getText(self, self.tr("Save preset"), self.tr("Preset name:"))
        if ok and name.strip():
            self.save_as(name.strip())

    def save_as(self, name: str) -> None:
        try:
            self.store.save(self.values(name))
        except (OSError, ValueError) as exc:
            self.problem.emit(str(exc))
            return
        self._reload(name)

    def _delete(self) -> None:
        p: Preset = self.preset.currentData()
        if not p.builtin:
            self.store.delete(p.name)
            self._reload("Balanced")


def _spin(low: float, high: float, step: float) -> QDoubleSpinBox:
    box = QDoubleSpinBox()
    box.setRange(low, high)
    box.setSingleStep(step)
    box.setDecimals(2)
    return box
