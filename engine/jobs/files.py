"""Files for the Batch API (inputs and results), kept under the data folder."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from pathlib import Path
from typing import Any

from engine.errors import NotFound
from engine.memory.database import Database


class FileStore:
    def __init__(self, db: Database, folder: Path) -> None:
        self._db = db
        self._folder = folder

    def _path(self, file_id: str) -> Path:
        return self._folder / file_id  # ids are made here (file-<hex>) and checked by the route

    def path(self, file_id: str) -> Path:
        """Where a stored file's bytes are (NotFound for an unknown id)."""
        self.get(file_id)
        return self._path(file_id)

    def add(self, source: Path, filename: str, purpose: str) -> dict[str, Any]:
        file_id = f"file-{uuid.uuid4().hex}"
        self._folder.mkdir(parents=True, exist_ok=True)
        shutil.move(source, self._path(file_id))
        return self._record(file_id, filename, purpose)

    def add_bytes(self, data: bytes, filename: str, purpose: str) -> dict[str, Any]:
        file_id = f"file-{uuid.uuid4().hex}"
        self._folder.mkdir(parents=True, exist_ok=True)
        tmp = self._path(file_id).with_suffix(".partial")
        tmp.write_bytes(data)
        os.replace(tmp, self._path(file_id))
        return self._record(file_id, filename, purpose)

    def _record(self, file_id: str, filename: str, purpose: str) -> dict[str, Any]:
        size = self._path(file_id).stat().st_size
        self._db.execute(
            "INSERT INTO files (id, purpose, filename, bytes, created_at) VALUES (?, ?, ?, ?, ?)",
            (file_id, purpose, filename, size, time.time()),
        )
        return self.get(file_id)

    def get(self, file_id: str) -> dict[str, Any]:
        rows = self._db.query("SELECT * FROM files WHERE id = ?", (file_id,))
        if not rows:
            raise NotFound(f"No file with id '{file_id}'.", param="file_id")
        row = dict(rows[0])
        return {
            "id": row["id"], "object": "file", "bytes": row["bytes"],
            "created_at": int(row["created_at"]), "filename": row["filename"],
            "purpose": row["purpose"], "status": "processed",
        }  # fmt: skip

    def content(self, file_id: str) -> bytes:
        self.get(file_id)
        return self._path(file_id).read_bytes()
