"""The key store's passphrase, asked in the terminal only when a secret is needed.

Hearth uses an encrypted file for secrets where there is no system keyring. Nothing asks for its
passphrase at start-up; the first command that stores or reads a secret (a provider's API key)
asks here: twice when the passphrase is being chosen, again after a wrong one.
"""

from __future__ import annotations

import getpass
import sys
from collections.abc import Callable
from typing import TextIO

from app.engine_client import EngineClient, WrongPassphraseError

ATTEMPTS = 3
NEW_STORE = (
    "This system has no keyring, so Hearth keeps secrets (remote providers' API keys) in an "
    "encrypted file. Choose a passphrase for it; Hearth asks for it again only when it needs a "
    "secret."
)
LOCKED_STORE = (
    "Hearth's key store is locked. Its passphrase opens it (it protects remote providers' API "
    "keys)."
)


class TerminalUnlocker:
    """An `EngineClient.unlocker` that asks on the terminal (and says why)."""

    def __init__(
        self,
        ask: Callable[[str], str] = getpass.getpass,
        confirm: Callable[[str], str] = input,
        out: TextIO = sys.stderr,
    ) -> None:
        self._ask, self._confirm, self._out = ask, confirm, out

    def __call__(self, client: EngineClient) -> bool:
        state = client.key_store_state()
        if state == "unlocked":
            return True  # someone else unlocked it meanwhile
        if state not in ("new", "locked"):
            return False
        print(NEW_STORE if state == "new" else LOCKED_STORE, file=self._out)
        for _ in range(ATTEMPTS):
            passphrase = self._passphrase(new=state == "new")
            if passphrase is None:
                continue
            try:
                client.unlock_keys(passphrase, remember=False)
            except WrongPassphraseError as exc:
                print(exc.message, file=self._out)
                continue
            if self._remember():
                client.unlock_keys(passphrase, remember=True)
            return True
        return False

    def _passphrase(self, *, new: bool) -> str | None:
        if not new:
            return self._ask("Passphrase for Hearth's key store: ")
        first = self._ask("New passphrase for Hearth's key store: ")
        if not first:
            print("The passphrase cannot be empty.", file=self._out)
            return None
        if self._ask("The same passphrase again: ") != first:
            print("The two passphrases differ; try again.", file=self._out)
            return None
        return first

    def _remember(self) -> bool:
        answer = self._confirm("Keep the key store open until the engine stops? [Y/n] ")
        return answer.strip().lower() not in ("n", "no")
