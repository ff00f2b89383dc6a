"""A reply's periodic write that reaches the database late (the engine busy, the disk slow) never
lands over the last write of that reply: the stored text is what the client was sent. Found by a
fresh-machine run, where a stopped reply was stored with its first two tokens only."""

from __future__ import annotations

import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine.memory.conversations import ConversationStore
from engine.memory.database import Database
from engine.schemas import ContextReport, ConversationCreate
from engine.services.conversations import ConversationService, ConversationTurn


class _SlowFirstWrite(ConversationStore):
    """Holds the first update until told to go on, as a busy database would."""

    def __init__(self, db: Database) -> None:
        super().__init__(db)
        self.started, self.go = threading.Event(), threading.Event()
        self.calls = 0

    def update_message(self, message_id: int, content: str, **extra: Any) -> None:
        self.calls += 1
        if self.calls == 1:
            self.started.set()
            self.go.wait(10)
        super().update_message(message_id, content, **extra)


def test_a_late_periodic_write_does_not_replace_the_last_one(tmp_path: Path) -> None:
    db = Database(tmp_path / "c.sqlite3")
    store = _SlowFirstWrite(db)
    conv = store.create(ConversationCreate())
    reply_id = store.add_message(conv.id, "assistant", "", interrupted=True)
    service = ConversationService(None, store, None, None, None)  # type: ignore[arg-type]
    generation = SimpleNamespace(stats=SimpleNamespace(completion_tokens=2))
    report = ContextReport.model_construct()  # not read by the writes
    turn = ConversationTurn(conv.id, 0, generation, report, "m", reply_id=reply_id)  # type: ignore[arg-type]
    turn.text_parts = ["1,"]
    periodic = threading.Thread(target=service._write_reply, args=(turn, True, False))
    periodic.start()
    assert store.started.wait(10)  # the periodic write has its text and waits
    turn.text_parts += [" 2,", " 3,", " 4"]
    generation.stats.completion_tokens = 8
    last = threading.Thread(target=service._write_reply, args=(turn, True, True))
    last.start()
    store.go.set()
    periodic.join(10)
    last.join(10)
    stored = next(m for m in store.messages(conv.id) if m.id == reply_id)
    assert stored.content == "1, 2, 3, 4"
    assert stored.token_count == 8
    db.close()
