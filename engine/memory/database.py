"""The engine's SQLite database: durable settings, numbered migrations and a start-up check.

WAL with synchronous=FULL so a committed row survives a power cut; foreign keys on; a busy
timeout; `PRAGMA integrity_check` at start-up, and a damaged file is set aside (renamed, never
emptied) with a clear message. One connection guarded by a lock; callers run off the event loop.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

log = logging.getLogger(__name__)

# Numbered migrations: append only; never edit one that has shipped.
MIGRATIONS: Sequence[tuple[int, str, str]] = (
    (
        1,
        "jobs",
        """
            CREATE TABLE jobs (
                id TEXT PRIMARY KEY,
                kind TEXT NOT NULL,
                status TEXT NOT NULL,
                params TEXT NOT NULL,
                input_name TEXT,
                progress REAL NOT NULL DEFAULT 0,
                done_seconds REAL NOT NULL DEFAULT 0,
                total_seconds REAL,
                result TEXT,
                error TEXT,
                created_at REAL NOT NULL,
                started_at REAL,
                finished_at REAL
            );
            CREATE INDEX jobs_created ON jobs(created_at);
        """,
    ),
    (
        2,
        "conversations and memories",
        """
            CREATE TABLE conversations (
                id TEXT PRIMARY KEY,
                title TEXT,
                model TEXT,
                system_prompt TEXT,
                params TEXT NOT NULL DEFAULT '{}',
                overflow_policy TEXT NOT NULL DEFAULT 'summarize',
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            );
            CREATE TABLE messages (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                conversation_id TEXT NOT NULL REFERENCES conversations(id) ON DELETE CASCADE,
                role TEXT NOT NULL,
                content TEXT NOT NULL,
                attachments TEXT,
                token_count INTEGER,
                model TEXT,
                provider TEXT,
                timings TEXT,
                finish_reason TEXT,
                interrupted INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL
            );
            CREATE INDEX messages_conversation ON messages(conversation_id, id);
            CREATE TABLE summaries (
                conversation_id TEXT PRIMARY KEY REFERENCES conversations(id) ON DELETE CASCADE,
                content TEXT NOT NULL,
                covers_through INTEGER NOT NULL,
                updated_at REAL NOT NULL
            );
            CREATE TABLE memories (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                content TEXT NOT NULL,
                source TEXT NOT NULL DEFAULT 'api',
                created_at REAL NOT NULL,
                updated_at REAL NOT NULL
            );
            -- Trigram full-text indexes: substring search that works for Chinese too.
            CREATE VIRTUAL TABLE messages_fts USING fts5(
                content, content='messages', content_rowid='id', tokenize='trigram'
            );
            CREATE TRIGGER messages_ai AFTER INSERT ON messages BEGIN
                INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
            END;
            CREATE TRIGGER messages_ad AFTER DELETE ON messages BEGIN
                INSERT INTO messages_fts(messages_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
            END;
            CREATE TRIGGER messages_au AFTER UPDATE OF content ON messages BEGIN
                INSERT INTO messages_fts(messages_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
                INSERT INTO messages_fts(rowid, content) VALUES (new.id, new.content);
            END;
            CREATE VIRTUAL TABLE memories_fts USING fts5(
                content, content='memories', content_rowid='id', tokenize='trigram'
            );
            CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
                INSERT INTO memories_fts(rowid, content) VALUES (new.id, new.content);
            END;
            CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
                INSERT INTO memories_fts(memories_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
            END;
            CREATE TRIGGER memories_au AFTER UPDATE OF content ON memories BEGIN
                INSERT INTO memories_fts(memories_fts, rowid, content)
                VALUES ('delete', old.id, old.content);
                INSERT INTO memories_fts(rowid, content) VALUES (new.id, new.content);
            END;
        """,
    ),
    (
        3,
        "audit log",
        """
            CREATE TABLE audit (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at REAL NOT NULL,
                method TEXT NOT NULL,
                endpoint TEXT NOT NULL,
                status INTEGER NOT NULL,
                duration_ms REAL NOT NULL,
                model TEXT,
                provider TEXT,
                prompt_tokens INTEGER,
                completion_tokens INTEGER,
                redactions TEXT,
                moderation TEXT,
                content TEXT
            );
            CREATE INDEX audit_at ON audit(at);
        """,
    ),
    (
        4,
        "providers and usage",
        """
            CREATE TABLE providers (
                name TEXT PRIMARY KEY,
                config TEXT NOT NULL,
                created_at REAL NOT NULL
            );
            CREATE TABLE usage (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at REAL NOT NULL,
                endpoint TEXT NOT NULL,
                provider TEXT NOT NULL,
                model TEXT NOT NULL,
                prompt_tokens INTEGER NOT NULL DEFAULT 0,
                completion_tokens INTEGER NOT NULL DEFAULT 0,
                cached_tokens INTEGER NOT NULL DEFAULT 0,
                cached INTEGER NOT NULL DEFAULT 0,
                estimated INTEGER NOT NULL DEFAULT 0,
                first_token_ms REAL,
                tokens_per_second REAL,
                duration_ms REAL,
                cost REAL,
                currency TEXT
            );
            CREATE INDEX usage_at ON usage(at);
        """,
    ),
    (
        5,
        "files",
        """
            CREATE TABLE files (
                id TEXT PRIMARY KEY,
                purpose TEXT NOT NULL,
                filename TEXT NOT NULL,
                bytes INTEGER NOT NULL,
                created_at REAL NOT NULL
            );
        """,
    ),
    (
        6,
        "audit request ids",
        """
            ALTER TABLE audit ADD COLUMN request_id TEXT;
            CREATE INDEX audit_request ON audit(request_id);
        """,
    ),
    (
        7,
        "tool calls",
        """
            ALTER TABLE messages ADD COLUMN tool_calls TEXT;
            ALTER TABLE messages ADD COLUMN tool_call_id TEXT;
            CREATE TABLE mcp_servers (
                name TEXT PRIMARY KEY,
                config TEXT NOT NULL,
                created_at REAL NOT NULL
            );
            CREATE TABLE tool_prefs (
                name TEXT PRIMARY KEY,
                enabled INTEGER NOT NULL DEFAULT 1,
                always_allow INTEGER NOT NULL DEFAULT 0
            );
            CREATE TABLE tool_audit (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                at REAL NOT NULL,
                conversation_id TEXT,
                call_id TEXT NOT NULL,
                tool TEXT NOT NULL,
                server TEXT NOT NULL,
                arguments_sha256 TEXT NOT NULL,
                outcome TEXT NOT NULL,
                duration_ms REAL
            );
            CREATE INDEX tool_audit_at ON tool_audit(at);
        """,
    ),
    (
        8,
        "stored responses",
        """
            CREATE TABLE responses (
                id TEXT PRIMARY KEY,
                created_at REAL NOT NULL,
                status TEXT NOT NULL,
                previous_response_id TEXT,
                body TEXT NOT NULL,
                input_items TEXT NOT NULL
            );
            CREATE INDEX responses_created ON responses(created_at);
        """,
    ),
    (
        9,
        "vector stores",
        """
            CREATE TABLE vector_stores (
                id TEXT PRIMARY KEY,
                name TEXT,
                embedding_model TEXT NOT NULL,
                dimensions INTEGER NOT NULL,
                metadata TEXT NOT NULL DEFAULT '{}',
                created_at REAL NOT NULL,
                last_active_at REAL NOT NULL
            );
            CREATE TABLE vector_store_files (
                vector_store_id TEXT NOT NULL REFERENCES vector_stores(id) ON DELETE CASCADE,
                file_id TEXT NOT NULL,
                filename TEXT NOT NULL,
                status TEXT NOT NULL,
                last_error TEXT,
                attributes TEXT NOT NULL DEFAULT '{}',
                chunk_tokens INTEGER NOT NULL,
                overlap_tokens INTEGER NOT NULL,
                usage_bytes INTEGER NOT NULL DEFAULT 0,
                created_at REAL NOT NULL,
                PRIMARY KEY (vector_store_id, file_id)
            );
            CREATE INDEX vector_store_files_status ON vector_store_files(status);
            CREATE TABLE chunks (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                vector_store_id TEXT NOT NULL,
                file_id TEXT NOT NULL,
                seq INTEGER NOT NULL,
                text TEXT NOT NULL,
                heading TEXT,
                page INTEGER,
                start_seconds REAL,
                FOREIGN KEY (vector_store_id, file_id)
                    REFERENCES vector_store_files(vector_store_id, file_id) ON DELETE CASCADE
            );
            CREATE INDEX chunks_file ON chunks(vector_store_id, file_id, seq);
            CREATE VIRTUAL TABLE chunks_fts USING fts5(
                text, vector_store_id UNINDEXED, tokenize = 'trigram'
            );
            CREATE VIRTUAL TABLE chunks_vocab USING fts5vocab(chunks_fts, row);
            CREATE TABLE vector_store_file_batches (
                id TEXT PRIMARY KEY,
                vector_store_id TEXT NOT NULL REFERENCES vector_stores(id) ON DELETE CASCADE,
                file_ids TEXT NOT NULL,
                created_at REAL NOT NULL
            );
        """,
    ),
    (
        10,
        "conversation collections",
        """
            ALTER TABLE conversations ADD COLUMN vector_store_ids TEXT NOT NULL DEFAULT '[]';
            ALTER TABLE messages ADD COLUMN citations TEXT;
        """,
    ),
    (
        11,
        "memory vectors",
        """
            CREATE TABLE memory_vectors (
                memory_id INTEGER PRIMARY KEY REFERENCES memories(id) ON DELETE CASCADE,
                model TEXT NOT NULL,
                vector BLOB NOT NULL
            );
        """,
    ),
    (
        12,
        "watched folders",
        """
            CREATE TABLE knowledge_folders (
                id TEXT PRIMARY KEY,
                vector_store_id TEXT NOT NULL REFERENCES vector_stores(id) ON DELETE CASCADE,
                path TEXT NOT NULL,
                include TEXT NOT NULL,
                exclude TEXT NOT NULL,
                created_at REAL NOT NULL,
                scanned_at REAL,
                last_error TEXT,
                UNIQUE (vector_store_id, path)
            );
            CREATE TABLE knowledge_folder_files (
                folder_id TEXT NOT NULL REFERENCES knowledge_folders(id) ON DELETE CASCADE,
                rel_path TEXT NOT NULL,
                file_id TEXT NOT NULL UNIQUE,
                size INTEGER NOT NULL,
                mtime_ns INTEGER NOT NULL,
                PRIMARY KEY (folder_id, rel_path)
            );
        """,
    ),
    (
        13,
        "fine-tuning jobs",
        """
            CREATE TABLE fine_tuning_jobs (
                id TEXT PRIMARY KEY,
                model TEXT NOT NULL,
                training_file TEXT NOT NULL,
                validation_file TEXT,
                params TEXT NOT NULL,
                status TEXT NOT NULL,
                fine_tuned_model TEXT,
                error TEXT,
                trained_tokens INTEGER,
                report TEXT,
                created_at REAL NOT NULL,
                finished_at REAL
            );
            CREATE TABLE fine_tuning_events (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id TEXT NOT NULL REFERENCES fine_tuning_jobs(id) ON DELETE CASCADE,
                created_at REAL NOT NULL,
                level TEXT NOT NULL,
                type TEXT NOT NULL,
                message TEXT NOT NULL,
                data TEXT
            );
            CREATE INDEX fine_tuning_events_job ON fine_tuning_events(job_id, id);
            CREATE TABLE fine_tuning_checkpoints (
                id INTEGER PRIMARY KEY AUTOINCREMENT,
                job_id TEXT NOT NULL REFERENCES fine_tuning_jobs(id) ON DELETE CASCADE,
                created_at REAL NOT NULL,
                step INTEGER NOT NULL,
                metrics TEXT NOT NULL
            );
        """,
    ),
    (
        14,
        "a word index of chunks",
        # Words (stemmed: "roses" finds "rose") for queries in spaced scripts, where ranking by
        # whole words is far cheaper than matching each word's trigrams in sequence; the
        # trigram index stays for Chinese, Japanese and Korean, which have no spaces.
        """
            CREATE VIRTUAL TABLE chunks_words USING fts5(
                text, vector_store_id UNINDEXED, tokenize = 'porter unicode61 remove_diacritics 2'
            );
            INSERT INTO chunks_words (rowid, text, vector_store_id)
                SELECT id, text, vector_store_id FROM chunks;
            DROP TABLE chunks_vocab;
        """,
    ),
)


def sqlite_driver() -> ModuleType:
    """The standard library's sqlite3 when it can load extensions (sqlite-vec needs it), else
    pysqlite3's build of the same DB-API (Linux x86-64 wheels). Python builds without loadable
    extensions (pyenv's default) are common; one driver serves the whole file, because two
    SQLite libraries in one process must not share a database file (their locks would not
    know of each other)."""
    if hasattr(sqlite3.Connection, "enable_load_extension"):
        return sqlite3
    try:
        import pysqlite3.dbapi2 as driver
    except ImportError:
        return sqlite3
    return driver  # type: ignore[no-any-return]


def _load_vectors(conn: Any) -> bool:
    try:
        import sqlite_vec

        conn.enable_load_extension(True)
        sqlite_vec.load(conn)
        conn.enable_load_extension(False)
    except Exception as exc:  # ImportError, no extension loading, either driver's errors
        log.warning("vector search is unavailable: %s", type(exc).__name__)
        return False
    return True


class Database:
    """A SQLite file with Hearth's schema applied."""

    def __init__(self, path: Path, migrations: Sequence[tuple[int, str, str]] = MIGRATIONS):
        self.path = path
        self.set_aside: Path | None = None
        self.driver = sqlite_driver()
        self.vectors = False  # whether sqlite-vec is loaded (vector search)
        path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._conn = self._open_checked()
        self._migrate(migrations)

    def _connect(self) -> sqlite3.Connection:
        driver = self.driver
        conn = driver.connect(self.path, check_same_thread=False, isolation_level=None)
        conn.row_factory = driver.Row
        conn.execute("PRAGMA busy_timeout = 5000")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("PRAGMA foreign_keys = ON")
        self.vectors = _load_vectors(conn)
        return conn  # type: ignore[no-any-return]

    def _open_checked(self) -> sqlite3.Connection:
        try:
            conn = self._connect()
            verdict = conn.execute("PRAGMA integrity_check").fetchone()[0]
            if verdict == "ok":
                return conn
            conn.close()
        except self.driver.DatabaseError:
            pass
        aside = self.path.with_name(f"{self.path.name}.damaged-{int(time.time())}")
        for suffix in ("", "-wal", "-shm"):
            part = Path(str(self.path) + suffix)
            if part.exists():
                part.rename(Path(str(aside) + suffix))
        self.set_aside = aside
        log.error(
            "the database %s was damaged; it was moved aside as %s and a new one started",
            self.path.name,
            aside.name,
        )
        return self._connect()

    def _migrate(self, migrations: Sequence[tuple[int, str, str]]) -> None:
        with self.transaction() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS migrations ("
                "number INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at REAL NOT NULL)"
            )
            done = {row[0] for row in conn.execute("SELECT number FROM migrations")}
        for number, name, statements in migrations:
            if number in done:
                continue
            # executescript runs its own statements: the migration and its record commit together.
            script = (
                f"BEGIN IMMEDIATE;\n{statements}\n"
                "INSERT INTO migrations (number, name, applied_at) "
                f"VALUES ({int(number)}, '{name}', {time.time()});\nCOMMIT;"
            )
            with self._lock:
                try:
                    self._conn.executescript(script)
                except self.driver.Error:
                    if self._conn.in_transaction:
                        self._conn.execute("ROLLBACK")
                    raise
            log.info("database migration %d (%s) applied", number, name)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """BEGIN IMMEDIATE … COMMIT, rolled back on error."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    def query(self, sql: str, args: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            return list(self._conn.execute(sql, args))

    def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement in its own transaction; return the rows changed."""
        with self.transaction() as conn:
            return conn.execute(sql, args).rowcount

    def close(self) -> None:
        with self._lock:
            self._conn.close()
