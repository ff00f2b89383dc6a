"""The SQLite store: pragmas, numbered migrations, and a damaged file set aside, never emptied."""

from __future__ import annotations

from pathlib import Path

import pytest

from engine.memory.database import MIGRATIONS, Database, sqlite_driver


def test_pragmas_and_migrations_recorded(tmp_path: Path) -> None:
    db = Database(tmp_path / "h.sqlite3")
    assert db.query("PRAGMA journal_mode")[0][0] == "wal"
    assert db.query("PRAGMA synchronous")[0][0] == 2  # FULL
    assert db.query("PRAGMA foreign_keys")[0][0] == 1
    numbers = [r["number"] for r in db.query("SELECT number FROM migrations ORDER BY number")]
    assert numbers == [m[0] for m in MIGRATIONS]
    db.close()
    again = Database(tmp_path / "h.sqlite3")  # applying twice changes nothing
    assert len(again.query("SELECT * FROM migrations")) == len(MIGRATIONS)
    again.close()


def test_new_migration_applies_once_and_a_failing_one_rolls_back(tmp_path: Path) -> None:
    extra = (*MIGRATIONS, (99, "notes", "CREATE TABLE notes (id INTEGER PRIMARY KEY);"))
    db = Database(tmp_path / "h.sqlite3", extra)
    db.execute("INSERT INTO notes (id) VALUES (1)")
    db.close()
    broken = (*extra, (100, "broken", "CREATE TABLE t2 (x); INSERT INTO nowhere VALUES (1);"))
    with pytest.raises(sqlite_driver().OperationalError, match="nowhere"):
        Database(tmp_path / "h.sqlite3", broken)
    db = Database(tmp_path / "h.sqlite3", extra)
    assert db.query("SELECT id FROM notes")[0][0] == 1
    assert not db.query("SELECT name FROM sqlite_master WHERE name = 't2'")
    assert 100 not in [r[0] for r in db.query("SELECT number FROM migrations")]
    db.close()


def test_damaged_file_is_set_aside_with_its_bytes(tmp_path: Path) -> None:
    path = tmp_path / "h.sqlite3"
    garbage = b"this is not a database at all" * 100
    path.write_bytes(garbage)
    db = Database(path)
    assert db.set_aside is not None
    assert db.set_aside.read_bytes() == garbage
    assert db.query("SELECT count(*) FROM jobs")[0][0] == 0
    db.close()
