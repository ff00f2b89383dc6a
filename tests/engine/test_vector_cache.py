"""The in-memory vector search gives sqlite-vec's answers: a store searched through the cache
and the same store searched by sqlite-vec alone (no cache room) return the same chunks, before
and after files are added, indexed again and removed, and a deleted store is forgotten."""

from __future__ import annotations

import random
from pathlib import Path

from engine.knowledge.passage import Passage
from engine.knowledge.store import KnowledgeStore
from engine.memory.database import Database

DIM = 32


def _unit(rng: random.Random) -> list[float]:
    v = [rng.gauss(0, 1) for _ in range(DIM)]
    norm = sum(x * x for x in v) ** 0.5
    return [x / norm for x in v]


def _fill(store: KnowledgeStore, vs: str, file_no: int, rng: random.Random, n: int = 40) -> None:
    file_id = f"file-{file_no:032x}"
    store.add_file(vs, file_id, f"f{file_no}.txt", {}, 400, 80)
    chunks = [Passage(f"file {file_no} chunk {c}") for c in range(n)]
    assert store.write_chunks(vs, file_id, chunks, [_unit(rng) for _ in chunks], 0)


def test_cached_search_matches_sqlite_vec_through_writes(tmp_path: Path) -> None:
    db = Database(tmp_path / "k.sqlite3")
    cached, plain = KnowledgeStore(db), KnowledgeStore(db, cache_bytes=0)
    vs = cached.create("s", "random", DIM, {})["id"]
    other = cached.create("other", "random", DIM, {})["id"]
    rng = random.Random(7)
    for f in range(3):
        _fill(cached, vs, f, rng)
    _fill(cached, other, 99, rng)
    queries = [_unit(rng) for _ in range(5)]

    def agree() -> list[int]:
        for q in queries:
            assert cached.nearest(vs, DIM, q, 10) == plain.nearest(vs, DIM, q, 10)
        return cached.nearest(vs, DIM, queries[0], 200)

    everything = agree()  # loads the store into the cache
    assert len(everything) == 120
    _fill(cached, vs, 3, rng)  # a new file
    _fill(cached, vs, 1, rng, n=10)  # a file indexed again: its old chunks go
    cached.remove_file(vs, f"file-{0:032x}")
    now = agree()
    assert len(now) == 40 + 40 + 10
    assert not set(now) & set(cached.nearest(other, DIM, queries[0], 200))
    cached.delete(vs)
    assert cached.nearest(vs, DIM, queries[0], 10) == []
    db.close()
