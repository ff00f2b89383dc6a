"""Blocks of text to chunks of at most `max_tokens` tokens (the embedding model's own count),
each overlapping the one before by about `overlap` tokens. A chunk stays within one page and one
section (its heading), so a citation points at the right place. Paragraphs stay whole where
they fit; longer ones are cut at sentences, and a sentence longer than a chunk at words."""

from __future__ import annotations

import re
from collections.abc import Callable

from engine.knowledge.readers import Block
from engine.knowledge.store import Chunk

_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+|(?<=[。！？])")


def _pieces(text: str, count: Callable[[str], int], limit: int) -> list[tuple[str, int]]:
    """`text` as pieces of at most `limit` tokens, with their counts."""
    n = count(text)
    if n <= limit:
        return [(text, n)]
    out: list[tuple[str, int]] = []
    sentences = [s for s in _SENTENCE.split(text) if s.strip()]
    if len(sentences) > 1:
        for sentence in sentences:
            out += _pieces(sentence, count, limit)
        return out
    words = text.split(" ") if " " in text.strip() else list(text)
    joiner = " " if " " in text.strip() else ""
    current: list[str] = []
    for word in words:
        candidate = joiner.join([*current, word])
        if current and count(candidate) > limit:
            piece = joiner.join(current)
            out.append((piece, count(piece)))
            current = [word]
        else:
            current.append(word)
    if current:
        piece = joiner.join(current)
        out.append((piece, count(piece)))
    return out


def chunk_blocks(
    blocks: list[Block], count: Callable[[str], int], max_tokens: int, overlap: int
) -> list[Chunk]:
    chunks: list[Chunk] = []
    current: list[tuple[str, int, Block]] = []  # piece, its tokens, the block it came from
    fresh = 0  # pieces in `current` that no chunk holds yet

    def flush() -> None:
        nonlocal current, fresh
        first = current[0][2]
        text = "\n\n".join(p for p, _n, _b in current)
        chunks.append(Chunk(text, first.heading, first.page, first.start_seconds))
        kept: list[tuple[str, int, Block]] = []
        size = 0
        for piece in reversed(current[1:]):  # the tail of this chunk starts the next one
            if size + piece[1] > overlap:
                break
            kept.insert(0, piece)
            size += piece[1]
        current, fresh = kept, 0

    for block in blocks:
        if current and (block.page, block.heading) != (current[-1][2].page, current[-1][2].heading):
            # A new page or section starts a new chunk, so that a citation's place is exact.
            if fresh:
                flush()
            current = []
        for piece, n in _pieces(block.text, count, max_tokens):
            while current and sum(k for _p, k, _b in current) + n > max_tokens:
                if fresh:
                    flush()
                else:
                    current.pop(0)  # overlap that leaves no room for the new piece goes
            current.append((piece, n, block))
            fresh += 1
    if fresh:
        flush()
    return chunks
