"""Memories recalled by meaning (the embedded E5 model, centred vectors beside FTS5) through the
API and in a stored conversation's context: facts that share no word with the question are
found, unrelated questions recall none of them, and an edited memory is embedded again."""

from __future__ import annotations

import httpx

FACTS = {
    "lina": "Lina turns 30 on 4 May",
    "car": "The user drives a red Volvo",
    "food": "The user is allergic to peanuts",
}


def _recalled(http: httpx.Client, question: str) -> list[int]:
    response = http.get("/v1/memories", params={"q": question})
    assert response.status_code == 200, response.text
    return [m["id"] for m in response.json()["data"]]


def test_memories_are_recalled_by_meaning_and_only_when_related(http: httpx.Client) -> None:
    ids = {k: http.post("/v1/memories", json={"content": v}).json()["id"] for k, v in FACTS.items()}
    # None of these questions shares a word with the fact it should find.
    assert _recalled(http, "Whose birthday is coming up?")[0] == ids["lina"]
    assert _recalled(http, "What vehicle do I have?")[0] == ids["car"]
    unrelated = _recalled(http, "Write a haiku about the sea")
    assert not set(ids.values()) & set(unrelated)

    conv = http.post("/v1/conversations", json={}).json()
    body = {"content": "Do I have any food allergies?", "max_tokens": 4, "temperature": 0}
    turn = http.post(f"/v1/conversations/{conv['id']}/messages", json=body)
    assert turn.status_code == 200, turn.text
    used = turn.json()["context"]["memories_used"]
    assert ids["food"] in used
    assert ids["lina"] not in used
    assert ids["car"] not in used

    # An edited memory is found by its new meaning, not its old one.
    edited = http.patch(f"/v1/memories/{ids['lina']}",
                        json={"content": "The user is learning to play the cello"})  # fmt: skip
    assert edited.status_code == 200
    assert ids["lina"] not in _recalled(http, "Whose birthday is coming up?")
    assert _recalled(http, "Which instrument am I practising?")[0] == ids["lina"]
    for memory_id in ids.values():
        http.delete(f"/v1/memories/{memory_id}")
