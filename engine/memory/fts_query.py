"""Turning free text into a safe FTS5 query for the trigram tokenizer.

Trigram indexes match substrings of three or more characters. Latin words of three or more
letters become quoted terms; runs of CJK characters (no spaces between words) become their
three-character windows, so a two-word Chinese phrase still finds text that contains it.
"""

from __future__ import annotations

import re

_WORD = re.compile(r"[^\W_]+", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]+")
STOPWORDS = frozenset(
    [
        "the",
        "and",
        "for",
        "are",
        "but",
        "not",
        "you",
        "your",
        "with",
        "this",
        "that",
        "have",
        "from",
        "they",
        "what",
        "when",
        "where",
        "which",
        "who",
        "how",
        "can",
        "will",
        "would",
        "should",
        "could",
        "about",
        "into",
        "than",
        "then",
        "them",
        "there",
        "their",
        "was",
        "were",
        "been",
        "has",
        "had",
        "does",
        "did",
        "our",
        "out",
        "all",
        "any",
        "some",
        "just",
        "like",
        "also",
        "very",
        "please",
        "tell",
        "know",
        "remember",
    ]
)


def is_cjk(term: str) -> bool:
    return bool(_CJK.search(term))


def terms(text: str, *, drop_stopwords: bool = True) -> list[str]:
    """Distinct terms of `text` that a trigram index can match, in order of appearance."""
    found: list[str] = []
    for run in _CJK.findall(text):
        found += [run] if len(run) <= 3 else [run[i : i + 3] for i in range(len(run) - 2)]
    latin = _CJK.sub(" ", text)
    for word in _WORD.findall(latin.lower()):
        if len(word) >= 3 and not (drop_stopwords and word in STOPWORDS):
            found.append(word)
    return list(dict.fromkeys(found))


def match_any(text: str, *, drop_stopwords: bool = True) -> str | None:
    """An FTS5 MATCH expression OR-ing the terms, each quoted; None when nothing is searchable."""
    quoted = [
        '"' + t.replace('"', '""') + '"'
        for t in terms(text, drop_stopwords=drop_stopwords)
        if len(t) >= 3
    ]
    return " OR ".join(quoted) if quoted else None


def match_all(text: str) -> str | None:
    """An FTS5 MATCH expression requiring every term (for search boxes)."""
    quoted = [
        '"' + t.replace('"', '""') + '"' for t in terms(text, drop_stopwords=False) if len(t) >= 3
    ]
    return " AND ".join(quoted) if quoted else None


def like_pattern(term: str) -> str:
    """`%term%` for LIKE ... ESCAPE '\\', with the wildcards in `term` escaped."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
