"""The keyword half of hybrid search: whole stemmed words for spaced scripts, trigrams for
Chinese, common words left out in a large collection, and the word index built for chunks that
were indexed before it existed."""

from __future__ import annotations

import random
from pathlib import Path

from engine.knowledge.passage import Passage
from engine.knowledge.store import KnowledgeStore
from engine.memory.database import Database

DIMENSIONS = 4


def _store(tmp_path: Path) -> tuple[Database, KnowledgeStore, str]:
    db = Database(tmp_path / "k.sqlite3")
    store = KnowledgeStore(db)
    return db, store, str(store.create("notes", "random", DIMENSIONS, {})["id"])


def _add(store: KnowledgeStore, vs: str, name: str, texts: list[str]) -> None:
    store.add_file(vs, f"file-{name}", f"{name}.txt", {}, 400, 80)
    vectors = [[1.0, 0.0, 0.0, 0.0] for _ in texts]
    assert store.write_chunks(vs, f"file-{name}", [Passage(t) for t in texts], vectors, 0)


def _texts(store: KnowledgeStore, vs: str, query: str) -> list[str]:
    return [h.text for h in store.hits({i: -n for n, i in enumerate(store.matching(vs, query, 5))})]


def test_words_match_their_other_forms_and_chinese_its_characters(tmp_path: Path) -> None:
    db, store, vs = _store(tmp_path)
    _add(store, vs, "garden", ["Prune the roses in March, just above an outward bud.",
                               "Tomatoes need six hours of sun a day.",
                               "玫瑰在三月修剪，剪在向外的芽上方。"])  # fmt: skip
    assert _texts(store, vs, "when is rose pruning done")[0].startswith("Prune the roses")
    assert _texts(store, vs, "How many hours of sunlight do tomato plants need?")[0].startswith(
        "Tomatoes"
    )
    assert _texts(store, vs, "玫瑰是三月修剪吗")[0].startswith("玫瑰")
    assert _texts(store, vs, "lighthouse") == []
    db.close()


def test_in_a_large_collection_words_in_most_chunks_are_left_out(tmp_path: Path) -> None:
    db, store, vs = _store(tmp_path)
    rng = random.Random(7)
    filler = ["garden soil water seed leaf", "garden path stone fence gate"]
    _add(store, vs, "bulk", [f"{rng.choice(filler)} item{i}" for i in range(1200)])
    _add(store, vs, "rare", ["The garden lighthouse keeper waters the ferns."])
    found = store._telling_terms(["garden", "lighthouse"], "chunks_words")
    assert found == ["lighthouse"]  # "garden" is in every chunk: ranking by it says nothing
    assert store._telling_terms(["garden", "soil"], "chunks_words") in (["garden"], ["soil"])
    assert _texts(store, vs, "garden lighthouse")[0].startswith("The garden lighthouse")
    db.close()


def test_chunks_indexed_before_the_word_index_existed_are_in_it(tmp_path: Path) -> None:
    db, store, vs = _store(tmp_path)
    _add(store, vs, "old", ["Prune the roses in March."])
    # The database as the previous version left it: no word index, migration 14 not applied.
    db.execute("DROP TABLE chunks_words")
    db.execute("CREATE VIRTUAL TABLE chunks_vocab USING fts5vocab(chunks_fts, row)")
    db.execute("DELETE FROM migrations WHERE number = 14")
    db.close()
    again = Database(tmp_path / "k.sqlite3")
    assert again.query("SELECT count(*) FROM chunks_words")[0][0] == 1
    assert _texts(KnowledgeStore(again), vs, "pruning roses") == ["Prune the roses in March."]
    again.close()
