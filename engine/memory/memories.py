"""Long-term memories: short facts kept across conversations, recalled with FTS5 and BM25 and,
where SQLite has sqlite-vec, by the cosine distance of their embeddings (kept beside them, one
per memory and embedding model; a memory's vector goes when its text changes)."""

from __future__ import annotations

import sqlite3
import struct
import time
from collections.abc import Sequence

from engine.errors import NotFound
from engine.memory.database import Database
from engine.memory.fts_query import like_pattern, match_any
from engine.schemas import Memory


def _memory(row: sqlite3.Row) -> Memory:
    return Memory(
        id=row["id"],
        content=row["content"],
        source=row["source"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
    )


class MemoryStore:
    """Blocking: call from worker threads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, content: str, source: str = "api") -> Memory:
        now = time.time()
        with self._db.transaction() as conn:
            cursor = conn.execute(
                "INSERT INTO memories (content, source, created_at, updated_at) "
                "VALUES (?, ?, ?, ?)",
                (content.strip(), source, now, now),
            )
            memory_id = int(cursor.lastrowid or 0)
        return self.get(memory_id)

    def get(self, memory_id: int) -> Memory:
        rows = self._db.query("SELECT * FROM memories WHERE id = ?", (memory_id,))
        if not rows:
            raise NotFound(f"No memory with id {memory_id}.", param="id")
        return _memory(rows[0])

    def update(self, memory_id: int, content: str) -> Memory:
        with self._db.transaction() as conn:
            changed = conn.execute(
                "UPDATE memories SET content = ?, updated_at = ? WHERE id = ?",
                (content.strip(), time.time(), memory_id),
            ).rowcount
            conn.execute("DELETE FROM memory_vectors WHERE memory_id = ?", (memory_id,))
        if not changed:
            raise NotFound(f"No memory with id {memory_id}.", param="id")
        return self.get(memory_id)

    def delete(self, memory_id: int) -> None:
        if not self._db.execute("DELETE FROM memories WHERE id = ?", (memory_id,)):
            raise NotFound(f"No memory with id {memory_id}.", param="id")

    def all(self, limit: int = 500) -> list[Memory]:
        rows = self._db.query("SELECT * FROM memories ORDER BY id DESC LIMIT ?", (limit,))
        return [_memory(r) for r in rows]

    def recall(self, text: str, limit: int = 5) -> list[Memory]:
        """The memories most related to `text`, best first (BM25 over trigrams)."""
        query = match_any(text)
        if query is None:
            return []
        rows = self._db.query(
            "SELECT m.* FROM memories_fts JOIN memories m ON m.id = memories_fts.rowid "
            "WHERE memories_fts MATCH ? ORDER BY bm25(memories_fts) LIMIT ?",
            (query, limit),
        )
        return [_memory(r) for r in rows]

    def search(self, text: str, limit: int = 50) -> list[Memory]:
        """For the API's ?q=: ranked matches, or a substring scan for very short queries."""
        found = self.recall(text, limit)
        if found:
            return found
        like = like_pattern(text)
        rows = self._db.query(
            "SELECT * FROM memories WHERE content LIKE ? ESCAPE '\\' ORDER BY id DESC LIMIT ?",
            (like, limit),
        )
        return [_memory(r) for r in rows]

    # -- vectors (semantic recall) -------------------------------------------------------------
    @property
    def has_vectors(self) -> bool:
        return self._db.vectors

    def unembedded(self, model: str, limit: int = 256) -> list[tuple[int, str]]:
        """Memories with no vector from `model` yet: new, edited, or from before."""
        rows = self._db.query(
            "SELECT m.id, m.content FROM memories m LEFT JOIN memory_vectors v "
            "ON v.memory_id = m.id AND v.model = ? WHERE v.memory_id IS NULL LIMIT ?",
            (model, limit),
        )
        return [(r["id"], r["content"]) for r in rows]

    def save_vectors(self, model: str, vectors: Sequence[tuple[int, Sequence[float]]]) -> None:
        with self._db.transaction() as conn:
            for memory_id, vector in vectors:
                # INSERT ... SELECT: a memory deleted meanwhile gets no vector.
                conn.execute(
                    "INSERT OR REPLACE INTO memory_vectors (memory_id, model, vector) "
                    "SELECT id, ?, ? FROM memories WHERE id = ?",
                    (model, struct.pack(f"<{len(vector)}f", *vector), memory_id),
                )

    def nearest(
        self, model: str, vector: Sequence[float], limit: int, min_similarity: float
    ) -> list[Memory]:
        """The memories whose embeddings are closest to `vector` (cosine), best first."""
        rows = self._db.query(
            "SELECT m.*, 1 - vec_distance_cosine(v.vector, ?) AS similarity "
            "FROM memory_vectors v JOIN memories m ON m.id = v.memory_id "
            "WHERE v.model = ? ORDER BY similarity DESC LIMIT ?",
            (struct.pack(f"<{len(vector)}f", *vector), model, limit),
        )
        return [_memory(r) for r in rows if r["similarity"] >= min_similarity]
