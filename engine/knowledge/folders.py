"""Folders watched for a collection: what a scan finds on disk (relative paths with their size
and modification time, filtered by include and exclude patterns) and what the last scan saw, so
that only new, changed and deleted files are indexed again. A folder's files get ids derived
from the folder and the path, so a scan repeated after a crash names the same files."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from dataclasses import dataclass
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from engine.errors import InvalidInput, NotFound
from engine.knowledge.readers import AUDIO, DOCUMENT, IMAGE
from engine.memory.database import Database

READABLE = DOCUMENT | AUDIO | IMAGE
# Never indexed: version control, caches and build output hold nothing a person asks about.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", "node_modules", "__pycache__", ".venv", "venv",
                          ".cache", ".tox", ".mypy_cache", ".idea", ".vscode"})  # fmt: skip


@dataclass(frozen=True)
class Seen:
    size: int
    mtime_ns: int


def _matches(rel: str, patterns: list[str]) -> bool:
    name = rel.rsplit("/", 1)[-1]
    return any(fnmatchcase(rel, p) or fnmatchcase(name, p) for p in patterns)


def _wanted_dir(root: Path, path: Path, exclude: list[str]) -> bool:
    rel = path.relative_to(root).as_posix()
    if path.name.startswith(".") or path.name in SKIPPED_DIRS:
        return False
    return not (_matches(rel, exclude) or _matches(rel + "/", exclude))


def scan(root: Path, include: list[str], exclude: list[str], limit: int) -> dict[str, Seen]:
    """The files under `root` to index, by path relative to it (with '/'). Hidden files and
    folders, and links (which could lead out of the folder), are left out. Blocking."""
    found: dict[str, Seen] = {}
    for folder, dirs, names in os.walk(root, followlinks=False):
        base = Path(folder)
        dirs[:] = sorted(d for d in dirs if _wanted_dir(root, base / d, exclude))
        for name in sorted(names):
            path = base / name
            rel = path.relative_to(root).as_posix()
            if name.startswith(".") or path.suffix.lower() not in READABLE:
                continue
            if (include and not _matches(rel, include)) or _matches(rel, exclude):
                continue
            try:
                stat = path.lstat()
            except OSError:
                continue  # gone meanwhile
            if path.is_symlink() or not path.is_file():
                continue
            found[rel] = Seen(stat.st_size, stat.st_mtime_ns)
            if len(found) >= limit:
                return found
    return found


def folder_file_id(folder_id: str, rel: str) -> str:
    return "file-" + hashlib.sha256(f"{folder_id}\0{rel}".encode()).hexdigest()[:32]


class FolderStore:
    """Blocking: call from worker threads."""

    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, store_id: str, path: Path, include: list[str], exclude: list[str]) -> str:
        folder_id = f"vsfo_{uuid.uuid4().hex}"
        existing = self._db.query("SELECT id FROM knowledge_folders WHERE vector_store_id = ? AND "
                                  "path = ?", (store_id, str(path)))  # fmt: skip
        if existing:
            raise InvalidInput("this folder is already watched for this vector store",
                               param="path")  # fmt: skip
        self._db.execute(
            "INSERT INTO knowledge_folders (id, vector_store_id, path, include, exclude, "
            "created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (folder_id, store_id, str(path), json.dumps(include), json.dumps(exclude),
             time.time()),
        )  # fmt: skip
        return folder_id

    def _row(self, store_id: str, folder_id: str) -> Any:
        rows = self._db.query("SELECT * FROM knowledge_folders WHERE id = ? AND "
                              "vector_store_id = ?", (folder_id, store_id))  # fmt: skip
        if not rows:
            raise NotFound(f"No folder '{folder_id}' in vector store '{store_id}'.",
                           param="folder_id")  # fmt: skip
        return rows[0]

    def get(self, store_id: str, folder_id: str) -> dict[str, Any]:
        return self._object(self._row(store_id, folder_id))

    def folders(self, store_id: str | None = None) -> list[dict[str, Any]]:
        sql, args = "SELECT * FROM knowledge_folders", []
        if store_id is not None:
            sql, args = sql + " WHERE vector_store_id = ?", [store_id]
        return [self._object(r) for r in self._db.query(sql + " ORDER BY created_at", args)]

    def _object(self, row: Any) -> dict[str, Any]:
        count = self._db.query("SELECT count(*) FROM knowledge_folder_files WHERE folder_id = ?",
                               (row["id"],))[0][0]  # fmt: skip
        return {
            "id": row["id"], "object": "vector_store.folder",
            "vector_store_id": row["vector_store_id"], "path": row["path"],
            "include": json.loads(row["include"]), "exclude": json.loads(row["exclude"]),
            "created_at": int(row["created_at"]), "files": count,
            "scanned_at": int(row["scanned_at"]) if row["scanned_at"] else None,
            "last_error": row["last_error"],
        }  # fmt: skip

    def delete(self, store_id: str, folder_id: str) -> list[str]:
        """Forget the folder; the ids of its files, to take out of the store."""
        self._row(store_id, folder_id)
        rows = self._db.query(
            "SELECT file_id FROM knowledge_folder_files WHERE folder_id = ?", (folder_id,)
        )
        ids = [r[0] for r in rows]
        self._db.execute("DELETE FROM knowledge_folders WHERE id = ?", (folder_id,))
        return ids

    def seen(self, folder_id: str) -> dict[str, Seen]:
        rows = self._db.query("SELECT rel_path, size, mtime_ns FROM knowledge_folder_files "
                              "WHERE folder_id = ?", (folder_id,))  # fmt: skip
        return {r[0]: Seen(r[1], r[2]) for r in rows}

    def remember(self, folder_id: str, rel: str, seen: Seen | None) -> None:
        """What a scan saw of one file (None: it is gone)."""
        if seen is None:
            self._db.execute("DELETE FROM knowledge_folder_files WHERE folder_id = ? AND "
                             "rel_path = ?", (folder_id, rel))  # fmt: skip
            return
        self._db.execute(
            "INSERT INTO knowledge_folder_files (folder_id, rel_path, file_id, size, mtime_ns) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(folder_id, rel_path) DO UPDATE SET "
            "size = excluded.size, mtime_ns = excluded.mtime_ns",
            (folder_id, rel, folder_file_id(folder_id, rel), seen.size, seen.mtime_ns),
        )  # fmt: skip

    def scanned(self, folder_id: str, error: str | None) -> None:
        self._db.execute("UPDATE knowledge_folders SET scanned_at = ?, last_error = ? WHERE "
                         "id = ?", (time.time(), error, folder_id))  # fmt: skip

    def source(self, file_id: str) -> Path | None:
        """Where a folder's file is on disk; None for an uploaded file."""
        rows = self._db.query(
            "SELECT f.path, ff.rel_path FROM knowledge_folder_files ff JOIN knowledge_folders f "
            "ON f.id = ff.folder_id WHERE ff.file_id = ?", (file_id,))  # fmt: skip
        return Path(rows[0][0], *rows[0][1].split("/")) if rows else None
