"""Conversations and their messages in SQLite: create, read, update, search, export."""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from dataclasses import dataclass
from typing import Any

from engine.errors import NotFound
from engine.memory.database import Database
from engine.memory.fts_query import like_pattern, match_all
from engine.schemas import (
    Conversation,
    ConversationCreate,
    ConversationMessage,
    ConversationUpdate,
)


@dataclass(frozen=True)
class Summary:
    content: str
    covers_through: int  # the id of the last message folded into it


def _message(row: sqlite3.Row) -> ConversationMessage:
    return ConversationMessage(
        id=row["id"],
        role=row["role"],
        content=row["content"],
        token_count=row["token_count"],
        model=row["model"],
        provider=row["provider"],
        finish_reason=row["finish_reason"],
        interrupted=bool(row["interrupted"]),
        timings=json.loads(row["timings"]) if row["timings"] else None,
        tool_calls=json.loads(row["tool_calls"]) if row["tool_calls"] else None,
        tool_call_id=row["tool_call_id"],
        citations=json.loads(row["citations"]) if row["citations"] else None,
        created_at=row["created_at"],
    )


def _conversation(row: sqlite3.Row) -> Conversation:
    return Conversation(
        id=row["id"],
        title=row["title"],
        model=row["model"],
        system_prompt=row["system_prompt"],
        params=json.loads(row["params"]),
        overflow_policy=row["overflow_policy"],
        vector_store_ids=json.loads(row["vector_store_ids"]),
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


# Newest matching messages first, and at most this many: a word that is in every message must
# not turn a search into a scan of the whole history.
MAX_SEARCH_HITS = 2_000


class ConversationStore:
    """Blocking: call from worker threads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def create(self, new: ConversationCreate) -> Conversation:
        conv_id = f"conv-{uuid.uuid4().hex}"
        now = time.time()
        with self._db.transaction() as conn:
            conn.execute(
                "INSERT INTO conversations (id, title, model, system_prompt, params, "
                "overflow_policy, vector_store_ids, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conv_id,
                    new.title,
                    new.model,
                    new.system_prompt,
                    json.dumps(new.params),
                    new.overflow_policy,
                    json.dumps(new.vector_store_ids),
                    now,
                    now,
                ),
            )
            for m in new.messages:
                conn.execute(
                    "INSERT INTO messages (conversation_id, role, content, created_at) "
                    "VALUES (?, ?, ?, ?)",
                    (conv_id, m.role, m.content, now),
                )
        return self.get(conv_id)

    def get(self, conv_id: str, with_messages: bool = False) -> Conversation:
        rows = self._db.query("SELECT * FROM conversations WHERE id = ?", (conv_id,))
        if not rows:
            raise NotFound(f"No conversation with id '{conv_id}'.", param="id")
        conv = _conversation(rows[0])
        summary = self.summary(conv_id)
        conv.summary = summary.content if summary else None
        if with_messages:
            conv.messages = self.messages(conv_id)
        return conv

    def find(self, query: str | None = None, limit: int = 100) -> list[Conversation]:
        """Newest first; with a query, those whose title or a message holds every word of it."""
        if not query or not query.strip():
            rows = self._db.query(
                "SELECT * FROM conversations ORDER BY updated_at DESC LIMIT ?", (limit,)
            )
            return [_conversation(r) for r in rows]
        words = query.split()
        short = [w for w in words if len(w) < 3]
        fts = match_all(" ".join(w for w in words if len(w) >= 3))
        # Words under three characters are below the trigram index: they filter by LIKE.
        like_filters = " AND ".join(["m.content LIKE ? ESCAPE '\\'"] * len(short)) or "1"
        if fts is not None:
            in_messages = (
                # Only fixed fragments are joined here; every value is a bound parameter.
                "SELECT m.conversation_id FROM messages m WHERE m.id IN ("
                "SELECT rowid FROM messages_fts WHERE messages_fts MATCH ? "
                f"ORDER BY rowid DESC LIMIT {MAX_SEARCH_HITS}) AND {like_filters}"
            )
            args: list[Any] = [fts, *(like_pattern(w) for w in short)]
        else:
            in_messages = f"SELECT m.conversation_id FROM messages m WHERE {like_filters}"
            args = [like_pattern(w) for w in short]
        sql = (
            "SELECT * FROM conversations WHERE title LIKE ? ESCAPE '\\' "
            f"OR id IN ({in_messages}) ORDER BY updated_at DESC LIMIT ?"
        )
        rows = self._db.query(sql, [like_pattern(query.strip()), *args, limit])
        return [_conversation(r) for r in rows]

    def update(self, conv_id: str, change: ConversationUpdate) -> Conversation:
        fields = change.model_dump(exclude_unset=True)
        if "params" in fields:
            fields["params"] = json.dumps(fields["params"] or {})
        if "vector_store_ids" in fields:
            fields["vector_store_ids"] = json.dumps(fields["vector_store_ids"] or [])
        self.get(conv_id)
        if fields:
            columns = ", ".join(f"{name} = ?" for name in fields)  # names from the schema only
            self._db.execute(
                f"UPDATE conversations SET {columns}, updated_at = ? WHERE id = ?",
                (*fields.values(), time.time(), conv_id),
            )
        return self.get(conv_id)

    def set_title_if_empty(self, conv_id: str, title: str) -> None:
        self._db.execute(
            "UPDATE conversations SET title = ? WHERE id = ? AND (title IS NULL OR title = '')",
            (title, conv_id),
        )

    def delete(self, conv_id: str) -> None:
        if self._db.execute("DELETE FROM conversations WHERE id = ?", (conv_id,)) == 0:
            raise NotFound(f"No conversation with id '{conv_id}'.", param="id")

    # -- messages --------------------------------------------------------------------------
    def messages(self, conv_id: str) -> list[ConversationMessage]:
        rows = self._db.query(
            "SELECT * FROM messages WHERE conversation_id = ? ORDER BY id", (conv_id,)
        )
        return [_message(r) for r in rows]

    def add_message(self, conv_id: str, role: str, content: str, **extra: Any) -> int:
        """Commit one message now (durably: WAL with synchronous=FULL); return its id."""
        timings = extra.pop("timings", None)
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO messages (conversation_id, role, content, token_count, model, "
                "provider, timings, finish_reason, interrupted, tool_calls, tool_call_id, "
                "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    conv_id,
                    role,
                    content,
                    extra.get("token_count"),
                    extra.get("model"),
                    extra.get("provider"),
                    json.dumps(timings) if timings else None,
                    extra.get("finish_reason"),
                    int(bool(extra.get("interrupted", False))),
                    json.dumps(extra["tool_calls"]) if extra.get("tool_calls") else None,
                    extra.get("tool_call_id"),
                    time.time(),
                ),
            )
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (time.time(), conv_id)
            )
            return int(cursor.lastrowid or 0)

    def update_message(self, message_id: int, content: str, **extra: Any) -> None:
        timings = extra.get("timings")
        self._db.execute(
            "UPDATE messages SET content = ?, token_count = ?, finish_reason = ?, interrupted = ?, "
            "timings = ? WHERE id = ?",
            (
                content,
                extra.get("token_count"),
                extra.get("finish_reason"),
                int(bool(extra.get("interrupted", False))),
                json.dumps(timings) if timings else None,
                message_id,
            ),
        )

    def set_citations(self, message_id: int, citations: list[dict[str, Any]]) -> None:
        self._db.execute(
            "UPDATE messages SET citations = ? WHERE id = ?", (json.dumps(citations), message_id)
        )

    def set_tool_calls(self, message_id: int, calls: list[dict[str, Any]]) -> None:
        self._db.execute(
            "UPDATE messages SET tool_calls = ? WHERE id = ?", (json.dumps(calls), message_id)
        )

    def truncate(self, conv_id: str, from_message_id: int) -> int:
        """Delete a message and every later one (regenerate, edit-and-resend); return how many.

        A running summary that covered any of them is dropped: it would describe a past that
        no longer happened."""
        with self._db.transaction() as conn:
            found = conn.execute(
                "SELECT 1 FROM messages WHERE id = ? AND conversation_id = ?",
                (from_message_id, conv_id),
            ).fetchone()
            if found is None:
                raise NotFound(
                    f"No message {from_message_id} in conversation '{conv_id}'.", param="message_id"
                )
            cursor = conn.execute(
                "DELETE FROM messages WHERE conversation_id = ? AND id >= ?",
                (conv_id, from_message_id),
            )
            conn.execute(
                "DELETE FROM summaries WHERE conversation_id = ? AND covers_through >= ?",
                (conv_id, from_message_id),
            )
            conn.execute(
                "UPDATE conversations SET updated_at = ? WHERE id = ?", (time.time(), conv_id)
            )
            return int(cursor.rowcount)

    # -- running summary -------------------------------------------------------------------
    def summary(self, conv_id: str) -> Summary | None:
        rows = self._db.query(
            "SELECT content, covers_through FROM summaries WHERE conversation_id = ?", (conv_id,)
        )
        return Summary(rows[0]["content"], rows[0]["covers_through"]) if rows else None

    def save_summary(self, conv_id: str, content: str, covers_through: int) -> None:
        self._db.execute(
            "INSERT INTO summaries (conversation_id, content, covers_through, updated_at) "
            "VALUES (?, ?, ?, ?) ON CONFLICT(conversation_id) DO UPDATE SET "
            "content = excluded.content, covers_through = excluded.covers_through, "
            "updated_at = excluded.updated_at",
            (conv_id, content, covers_through, time.time()),
        )


def export_markdown(conv: Conversation) -> str:
    lines = [f"# {conv.title or 'Conversation'}", ""]
    if conv.system_prompt:
        lines += [f"_System: {conv.system_prompt}_", ""]
    for m in conv.messages or []:
        flag = " (interrupted)" if m.interrupted else ""
        lines += [f"**{m.role.capitalize()}**{flag}:", "", m.content, ""]
    return "\n".join(lines)
