"""Vector stores in the engine's SQLite file: stores, their files (the table of files to index is
also the indexing queue, so it survives a restart), chunks with their positions, an FTS5
trigram index of the chunks and a sqlite-vec index of their vectors (one vec0 table per vector
size, partitioned by store). Blocking: call from worker threads."""

from __future__ import annotations

import json
import struct
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from engine.errors import InvalidInput, NotFound
from engine.knowledge.passage import Passage
from engine.knowledge.vector_cache import VectorCache
from engine.memory.database import Database
from engine.memory.fts_query import is_cjk, match_any, terms

Chunk = Passage  # what is embedded and searched


@dataclass
class Hit:
    chunk_id: int
    vector_store_id: str
    file_id: str
    filename: str
    text: str
    heading: str | None
    page: int | None
    start_seconds: float | None
    attributes: dict[str, Any]
    score: float


COMMON = 0.05  # a query word in more than this share of the chunks is not searched by FTS5


def _vector_table(dimensions: int) -> str:
    return f"chunk_vectors_{int(dimensions)}"


def _pack(vector: Sequence[float]) -> bytes:
    return struct.pack(f"<{len(vector)}f", *vector)


class KnowledgeStore:
    def __init__(self, db: Database, cache_bytes: int = 256 << 20) -> None:
        self._db = db
        self._cache = VectorCache(cache_bytes)
        # Writes and the cache's updates happen in the order they are committed.
        self._writing = threading.RLock()

    def _need_vectors(self) -> None:
        if not self._db.vectors:
            raise InvalidInput("vector search is unavailable here: SQLite cannot load the "
                               "sqlite-vec extension", param="vector_store")  # fmt: skip

    # -- stores ------------------------------------------------------------------------------
    def create(
        self, name: str | None, model: str, dimensions: int, metadata: dict[str, str]
    ) -> dict[str, Any]:
        self._need_vectors()
        store_id = f"vs_{uuid.uuid4().hex}"
        now = time.time()
        table = _vector_table(dimensions)
        with self._db.transaction() as conn:
            conn.execute(
                f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING vec0(chunk_id INTEGER "
                f"PRIMARY KEY, vector_store_id TEXT PARTITION KEY, embedding float[{dimensions}]"
                " distance_metric=cosine)"
            )
            conn.execute(
                "INSERT INTO vector_stores (id, name, embedding_model, dimensions, metadata, "
                "created_at, last_active_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (store_id, name, model, dimensions, json.dumps(metadata), now, now),
            )
        return self.get(store_id)

    def get(self, store_id: str) -> dict[str, Any]:
        rows = self._db.query("SELECT * FROM vector_stores WHERE id = ?", (store_id,))
        if not rows:
            raise NotFound(f"No vector store with id '{store_id}'.", param="vector_store_id")
        return self._store_object(rows[0])

    def _store_object(self, row: Any) -> dict[str, Any]:
        counts = {r["status"]: r["n"] for r in self._db.query(
            "SELECT status, count(*) AS n FROM vector_store_files WHERE vector_store_id = ? "
            "GROUP BY status", (row["id"],))}  # fmt: skip
        size = self._db.query(
            "SELECT coalesce(sum(usage_bytes), 0) FROM vector_store_files WHERE "
            "vector_store_id = ?", (row["id"],))[0][0]  # fmt: skip
        file_counts = {k: counts.get(k, 0) for k in ("in_progress", "completed", "failed",
                                                     "cancelled")}  # fmt: skip
        file_counts["total"] = sum(counts.values())
        return {
            "id": row["id"], "object": "vector_store", "name": row["name"],
            "created_at": int(row["created_at"]), "last_active_at": int(row["last_active_at"]),
            "status": "in_progress" if file_counts["in_progress"] else "completed",
            "usage_bytes": int(size), "file_counts": file_counts,
            "metadata": json.loads(row["metadata"]), "expires_after": None, "expires_at": None,
            "embedding_model": row["embedding_model"], "dimensions": row["dimensions"],
        }  # fmt: skip

    def all(self) -> list[dict[str, Any]]:
        rows = self._db.query("SELECT * FROM vector_stores ORDER BY created_at DESC")
        return [self._store_object(r) for r in rows]

    def update(
        self, store_id: str, name: str | None, metadata: dict[str, str] | None
    ) -> dict[str, Any]:
        self.get(store_id)
        if name is not None:
            self._db.execute("UPDATE vector_stores SET name = ? WHERE id = ?", (name, store_id))
        if metadata is not None:
            self._db.execute(
                "UPDATE vector_stores SET metadata = ? WHERE id = ?",
                (json.dumps(metadata), store_id),
            )
        return self.get(store_id)

    def delete(self, store_id: str) -> None:
        store = self.get(store_id)
        with self._writing:
            with self._db.transaction() as conn:
                self._drop_chunks(conn, store_id, None, store["dimensions"])
                conn.execute("DELETE FROM vector_stores WHERE id = ?", (store_id,))
            self._cache.drop(store_id)

    # -- files -------------------------------------------------------------------------------
    def add_file(
        self, store_id: str, file_id: str, filename: str, attributes: dict[str, Any],
        chunk_tokens: int, overlap_tokens: int,
    ) -> dict[str, Any]:  # fmt: skip
        store = self.get(store_id)
        with self._writing:
            with self._db.transaction() as conn:
                dropped = self._drop_chunks(conn, store_id, file_id, store["dimensions"])
                conn.execute(
                    "INSERT INTO vector_store_files (vector_store_id, file_id, filename, "
                    "status, attributes, chunk_tokens, overlap_tokens, created_at) VALUES "
                    "(?, ?, ?, 'in_progress', ?, ?, ?, ?) ON CONFLICT(vector_store_id, file_id) "
                    "DO UPDATE SET status = 'in_progress', last_error = NULL, usage_bytes = 0, "
                    "attributes = excluded.attributes",
                    (store_id, file_id, filename, json.dumps(attributes), chunk_tokens,
                     overlap_tokens, time.time()),
                )  # fmt: skip
            self._cache.remove(store_id, dropped)
        return self.get_file(store_id, file_id)

    def reindex(self, store_id: str, file_id: str) -> bool:
        """Index a changed file again; its chunks stay searchable until the new ones land."""
        return bool(self._db.execute(
            "UPDATE vector_store_files SET status = 'in_progress', last_error = NULL WHERE "
            "vector_store_id = ? AND file_id = ?", (store_id, file_id)))  # fmt: skip

    def status(self, store_id: str, file_id: str) -> str | None:
        rows = self._db.query(
            "SELECT status FROM vector_store_files WHERE vector_store_id = ? AND file_id = ?",
            (store_id, file_id),
        )
        return str(rows[0][0]) if rows else None

    def get_file(self, store_id: str, file_id: str) -> dict[str, Any]:
        rows = self._db.query(
            "SELECT * FROM vector_store_files WHERE vector_store_id = ? AND file_id = ?",
            (store_id, file_id),
        )
        if not rows:
            raise NotFound(f"No file '{file_id}' in vector store '{store_id}'.", param="file_id")
        return {**_file_object(rows[0]), "chunks": self.chunk_count(store_id, file_id)}

    def files(self, store_id: str, status: str | None = None) -> list[dict[str, Any]]:
        self.get(store_id)
        sql = "SELECT * FROM vector_store_files WHERE vector_store_id = ?"
        args: list[Any] = [store_id]
        if status is not None:
            sql += " AND status = ?"
            args.append(status)
        rows = self._db.query(sql + " ORDER BY created_at DESC", args)
        return [_file_object(r) for r in rows]

    def pending(self) -> list[tuple[str, str]]:
        """(store, file) pairs still to index, oldest first: the queue after a restart."""
        rows = self._db.query(
            "SELECT vector_store_id, file_id FROM vector_store_files WHERE status = "
            "'in_progress' ORDER BY created_at"
        )
        return [(r[0], r[1]) for r in rows]

    def set_status(
        self, store_id: str, file_id: str, status: str, error: str | None = None
    ) -> None:
        self._db.execute(
            "UPDATE vector_store_files SET status = ?, last_error = ? WHERE vector_store_id = ? "
            "AND file_id = ? AND status = 'in_progress'",
            (status, error, store_id, file_id),
        )

    def remove_file(self, store_id: str, file_id: str) -> None:
        store = self.get(store_id)
        self.get_file(store_id, file_id)
        with self._writing:
            with self._db.transaction() as conn:
                dropped = self._drop_chunks(conn, store_id, file_id, store["dimensions"])
                conn.execute(
                    "DELETE FROM vector_store_files WHERE vector_store_id = ? AND file_id = ?",
                    (store_id, file_id),
                )
            self._cache.remove(store_id, dropped)

    def write_chunks(
        self, store_id: str, file_id: str, chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]], size: int,
    ) -> bool:  # fmt: skip
        """A file's chunks and vectors in one transaction (what it had before goes), and its
        status completed; False when it was removed or cancelled meanwhile."""
        store = self.get(store_id)
        with self._writing:
            with self._db.transaction() as conn:
                written = self._write(conn, store_id, file_id, chunks, vectors, size,
                                      store["dimensions"])  # fmt: skip
            if written is not None:  # committed: the cache follows
                self._cache.remove(store_id, written[0])
                self._cache.add(store_id, written[1], vectors)
        return written is not None

    def _write(
        self, conn: Any, store_id: str, file_id: str, chunks: Sequence[Chunk],
        vectors: Sequence[Sequence[float]], size: int, dimensions: int,
    ) -> tuple[list[int], list[int]] | None:  # fmt: skip
        """(dropped, added) chunk ids; None when the file is no longer to be indexed."""
        still = conn.execute(
            "SELECT 1 FROM vector_store_files WHERE vector_store_id = ? AND file_id = ? AND "
            "status = 'in_progress'", (store_id, file_id)).fetchone()  # fmt: skip
        if still is None:
            return None
        table = _vector_table(dimensions)
        dropped = self._drop_chunks(conn, store_id, file_id, dimensions)
        added: list[int] = []
        for seq, (chunk, vector) in enumerate(zip(chunks, vectors, strict=True)):
            cursor = conn.execute(
                "INSERT INTO chunks (vector_store_id, file_id, seq, text, heading, page, "
                "start_seconds) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (store_id, file_id, seq, chunk.text, chunk.heading, chunk.page,
                 chunk.start_seconds),
            )  # fmt: skip
            chunk_id = int(cursor.lastrowid or 0)
            added.append(chunk_id)
            for index in ("chunks_fts", "chunks_words"):
                conn.execute(f"INSERT INTO {index} (rowid, text, vector_store_id) VALUES "
                             "(?, ?, ?)", (chunk_id, chunk.text, store_id))  # fmt: skip
            conn.execute(f"INSERT INTO {table} (chunk_id, vector_store_id, embedding) "
                         "VALUES (?, ?, ?)", (chunk_id, store_id, _pack(vector)))  # fmt: skip
        conn.execute(
            "UPDATE vector_store_files SET status = 'completed', usage_bytes = ? WHERE "
            "vector_store_id = ? AND file_id = ?", (size, store_id, file_id))  # fmt: skip
        conn.execute("UPDATE vector_stores SET last_active_at = ? WHERE id = ?",
                     (time.time(), store_id))  # fmt: skip
        return dropped, added

    @staticmethod
    def _drop_chunks(conn: Any, store_id: str, file_id: str | None, dimensions: int) -> list[int]:
        where, args = "vector_store_id = ?", [store_id]
        if file_id is not None:
            where += " AND file_id = ?"
            args.append(file_id)
        ids = [r[0] for r in conn.execute(f"SELECT id FROM chunks WHERE {where}", args)]
        table = _vector_table(dimensions)
        for chunk_id in ids:
            conn.execute("DELETE FROM chunks_fts WHERE rowid = ?", (chunk_id,))
            conn.execute("DELETE FROM chunks_words WHERE rowid = ?", (chunk_id,))
            conn.execute(f"DELETE FROM {table} WHERE chunk_id = ?", (chunk_id,))
        conn.execute(f"DELETE FROM chunks WHERE {where}", args)
        return ids

    # -- file batches ------------------------------------------------------------------------
    def add_batch(self, store_id: str, file_ids: list[str]) -> str:
        batch_id = f"vsfb_{uuid.uuid4().hex}"
        self._db.execute(
            "INSERT INTO vector_store_file_batches (id, vector_store_id, file_ids, created_at) "
            "VALUES (?, ?, ?, ?)",
            (batch_id, store_id, json.dumps(file_ids), time.time()),
        )
        return batch_id

    def batch(self, store_id: str, batch_id: str) -> dict[str, Any]:
        rows = self._db.query(
            "SELECT * FROM vector_store_file_batches WHERE id = ? AND vector_store_id = ?",
            (batch_id, store_id),
        )
        if not rows:
            raise NotFound(f"No file batch '{batch_id}' in vector store '{store_id}'.",
                           param="batch_id")  # fmt: skip
        file_ids = json.loads(rows[0]["file_ids"])
        files = [f for f in self.files(store_id) if f["id"] in file_ids]
        counts = {k: sum(1 for f in files if f["status"] == k)
                  for k in ("in_progress", "completed", "failed", "cancelled")}  # fmt: skip
        counts["total"] = len(file_ids)
        return {
            "id": batch_id, "object": "vector_store.files_batch", "vector_store_id": store_id,
            "created_at": int(rows[0]["created_at"]), "file_counts": counts, "files": files,
            "status": "in_progress" if counts["in_progress"] else
            ("cancelled" if counts["cancelled"] else "completed"),
        }  # fmt: skip

    def cancel_files(self, store_id: str, file_ids: list[str]) -> None:
        for file_id in file_ids:
            self.set_status(store_id, file_id, "cancelled")

    def chunk_count(self, store_id: str, file_id: str | None = None) -> int:
        sql, args = "SELECT count(*) FROM chunks WHERE vector_store_id = ?", [store_id]
        if file_id is not None:
            sql += " AND file_id = ?"
            args.append(file_id)
        return int(self._db.query(sql, args)[0][0])

    # -- search ------------------------------------------------------------------------------
    def nearest(self, store_id: str, dimensions: int, vector: Sequence[float], k: int) -> list[int]:
        """Chunk ids by vector similarity, nearest first: in memory where the store's vectors
        fit the cache (loaded at its first search), by sqlite-vec's scan otherwise."""
        found = self._cache.nearest(store_id, vector, k)
        if found is None and self._load(store_id, dimensions):
            found = self._cache.nearest(store_id, vector, k)
        if found is not None:
            return found
        table = _vector_table(dimensions)
        rows = self._db.query(
            f"SELECT chunk_id FROM {table} WHERE embedding MATCH ? AND k = ? AND "
            "vector_store_id = ? ORDER BY distance", (_pack(vector), k, store_id))  # fmt: skip
        return [r[0] for r in rows]

    def _load(self, store_id: str, dimensions: int) -> bool:
        if not self._cache.fits(self.chunk_count(store_id) * (4 * dimensions + 8)):
            return False  # searched by sqlite-vec; nothing is read in vain
        with self._writing:
            rows = self._db.query(f"SELECT chunk_id, embedding FROM {_vector_table(dimensions)} "
                                  "WHERE vector_store_id = ?", (store_id,))  # fmt: skip
            return self._cache.put(store_id, [r[0] for r in rows], [r[1] for r in rows],
                                   dimensions)  # fmt: skip

    def matching(self, store_id: str, text: str, k: int) -> list[int]:
        """Chunk ids by FTS5's BM25 over the query's terms, best first: by whole (stemmed) words
        for spaced scripts, by trigrams when the query has Chinese, Japanese or Korean in it.
        Words found in most chunks are left out first: they add little to BM25, and ranking
        every chunk that holds one is what makes a search slow in a large collection."""
        found = terms(text)
        index = "chunks_fts" if any(is_cjk(t) for t in found) else "chunks_words"
        query = match_any(" ".join(self._telling_terms(found, index)))
        if query is None:
            return []
        rows = self._db.query(
            f"SELECT rowid FROM {index} WHERE {index} MATCH ? AND vector_store_id = ? "
            f"ORDER BY bm25({index}) LIMIT ?", (query, store_id, k))  # fmt: skip
        return [r[0] for r in rows]

    def _telling_terms(self, words: list[str], index: str) -> list[str]:
        """The terms less those in more than COMMON of the chunks; the rarest stays when all
        are common. Each term's chunks are counted only up to that share, so a common word
        costs no more than a rare one past it."""
        total = self._db.query("SELECT coalesce(max(id), 0) FROM chunks")[0][0]
        if len(words) < 2 or total < 1000:
            return words
        cap = int(COMMON * total) + 1
        df = {}
        for word in words:
            quoted = match_any(word)
            df[word] = cap if quoted is None else self._db.query(
                f"SELECT count(*) FROM (SELECT 1 FROM {index} WHERE {index} MATCH ? LIMIT ?)",
                (quoted, cap))[0][0]  # fmt: skip
        kept = [w for w in words if df[w] < cap]
        return kept or [min(words, key=lambda w: df[w])]

    def hits(self, scored: dict[int, float]) -> list[Hit]:
        if not scored:
            return []
        marks = ",".join("?" for _ in scored)
        rows = self._db.query(
            "SELECT c.*, f.filename, f.attributes FROM chunks c JOIN vector_store_files f ON "
            "f.vector_store_id = c.vector_store_id AND f.file_id = c.file_id WHERE c.id IN "
            f"({marks})", list(scored))  # fmt: skip
        hits = [
            Hit(r["id"], r["vector_store_id"], r["file_id"], r["filename"], r["text"],
                r["heading"], r["page"], r["start_seconds"], json.loads(r["attributes"]),
                scored[r["id"]])
            for r in rows
        ]  # fmt: skip
        return sorted(hits, key=lambda h: -h.score)


def _file_object(row: Any) -> dict[str, Any]:
    error = {"code": "server_error", "message": row["last_error"]} if row["last_error"] else None
    return {
        "id": row["file_id"], "object": "vector_store.file", "created_at": int(row["created_at"]),
        "vector_store_id": row["vector_store_id"], "status": row["status"],
        "last_error": error, "usage_bytes": row["usage_bytes"], "filename": row["filename"],
        "attributes": json.loads(row["attributes"]),
        "chunking_strategy": {"type": "static", "static": {
            "max_chunk_size_tokens": row["chunk_tokens"],
            "chunk_overlap_tokens": row["overlap_tokens"]}},
    }  # fmt: skip
