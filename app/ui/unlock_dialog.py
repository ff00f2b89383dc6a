"""The key store's passphrase, asked only when a secret is needed: what it protects, twice when
it is being chosen, and whether to keep the store open until Hearth closes."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from app.ui.theme import colours


class UnlockDialog(QDialog):
    def __init__(self, state: str, error: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("unlock_dialog")
        self.creating = state == "new"
        layout = QVBoxLayout(self)
        if self.creating:
            self.setWindowTitle(self.tr("Choose a passphrase for your secrets"))
            intro = self.tr(
                "This system has no keyring, so Hearth keeps secrets, such as remote providers' "
                "API keys, in a file encrypted with a passphrase you choose now. Hearth asks for "
                "it only when it needs one of those secrets; everything else works without it. "
                "It cannot be recovered if you forget it."
            )
        else:
            self.setWindowTitle(self.tr("Unlock your secrets"))
            intro = self.tr(
                "Hearth needs a secret from its encrypted key store (a remote provider's API "
                "key). Enter the key store's passphrase to unlock it."
            )
        text = QLabel(intro)
        text.setWordWrap(True)
        layout.addWidget(text)
        form = QFormLayout()
        self.passphrase = QLineEdit()
        self.passphrase.setObjectName("passphrase")
        self.passphrase.setEchoMode(QLineEdit.EchoMode.Password)
        self.passphrase.setAccessibleName(self.tr("Passphrase"))
        form.addRow(self.tr("Passphrase:"), self.passphrase)
        self.repeat = QLineEdit()
        self.repeat.setObjectName("passphrase_again")
        self.repeat.setEchoMode(QLineEdit.EchoMode.Password)
        self.repeat.setAccessibleName(self.tr("Passphrase again"))
        if self.creating:
            form.addRow(self.tr("Again:"), self.repeat)
        layout.addLayout(form)
        self.remember = QCheckBox(self.tr("Keep it unlocked until Hearth closes"))
        self.remember.setObjectName("remember")
        self.remember.setChecked(True)
        self.remember.setToolTip(
            self.tr("Otherwise the key store locks itself again after a few minutes unused.")
        )
        layout.addWidget(self.remember)
        self.error = QLabel(error)
        self.error.setObjectName("unlock_error")
        self.error.setStyleSheet(f"color: {colours().danger};")
        self.error.setWordWrap(True)
        self.error.setVisible(bool(error))
        layout.addWidget(self.error)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def _accept(self) -> None:
        problem = ""
        if not self.passphrase.text():
            problem = self.tr("The passphrase cannot be empty.")
        elif self.creating and self.repeat.text() != self.passphrase.text():
            problem = self.tr("The two passphrases differ.")
        if problem:
            self.error.setText(problem)
            self.error.setVisible(True)
            return
        self.accept()
