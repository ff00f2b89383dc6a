"""Keys, redaction, moderation and the audit log (/v1/keys, /redact, /moderations, /audit)."""

from __future__ import annotations

import time
import uuid
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from engine.api.state import EngineState, State, blocking
from engine.errors import InvalidInput
from engine.security.api_token import TOKEN_NAME
from engine.security.keystore import check_name

router = APIRouter(prefix="/v1")


class KeyValue(BaseModel):
    value: str = Field(min_length=1, max_length=16_384)


class RedactRequest(BaseModel):
    text: str = Field(max_length=1_000_000)


class ModerationRequest(BaseModel):
    input: str | list[str]
    model: str | None = None


def _user_key(name: str) -> str:
    check_name(name)
    if name == TOKEN_NAME:
        raise InvalidInput("That key is managed by Hearth itself.", param="name")
    return name


class Unlock(BaseModel):
    passphrase: str = Field(min_length=1, max_length=1024)
    # False: lock again after a while without use (keystore_unlock_seconds).
    remember: bool = True


def _key_store(state: EngineState) -> dict[str, Any]:
    vault = state.keystore
    return {"object": "key_store", "store": vault.kind, "state": vault.state}


@router.get("/keys")
async def list_keys(state: State) -> dict[str, Any]:
    names, store = await blocking(lambda: (state.keystore.names(), _key_store(state)))
    data = [{"name": n, "object": "key", "store": state.keystore.kind} for n in names]
    return {"object": "list", "data": data, "key_store": store}


@router.get("/keys/status")
async def key_store_status(state: State) -> dict[str, Any]:
    """Whether secrets can be read now; 'new' means the first passphrase creates the store."""
    return await blocking(_key_store, state)


@router.post("/keys/unlock")
async def unlock_keys(body: Unlock, state: State) -> dict[str, Any]:
    """Open the encrypted key store with its passphrase (on first use this sets it)."""
    await blocking(state.keystore.unlock, body.passphrase, body.remember)
    return await blocking(_key_store, state)


@router.post("/keys/lock")
async def lock_keys(state: State) -> dict[str, Any]:
    state.keystore.lock()
    return await blocking(_key_store, state)


@router.put("/keys/{name}")
async def set_key(name: str, body: KeyValue, state: State) -> dict[str, Any]:
    await blocking(state.keystore.set, _user_key(name), body.value)
    return {"name": name, "object": "key", "stored": True, "store": state.keystore.kind}


@router.delete("/keys/{name}")
async def delete_key(name: str, state: State) -> dict[str, Any]:
    await blocking(state.keystore.delete, _user_key(name))
    return {"name": name, "object": "key", "deleted": True}


@router.post("/redact")
async def redact(body: RedactRequest, state: State) -> dict[str, Any]:
    text, redaction = state.redactor.redact(body.text)
    items = [{"kind": i.kind, "placeholder": i.placeholder} for i in redaction.items]
    return {"text": text, "items": items, "counts": redaction.counts()}


@router.post("/moderations")
async def moderations(body: ModerationRequest, state: State) -> dict[str, Any]:
    texts = [body.input] if isinstance(body.input, str) else body.input
    moderator = state.generation.moderator
    names = [wl.name for wl in moderator.lists] if moderator else []
    results = []
    for text in texts:
        hits = moderator.check(text).hits if moderator else {}
        results.append(
            {
                "flagged": bool(hits),
                "categories": {n: n in hits for n in names},
                "category_scores": {n: 1.0 if n in hits else 0.0 for n in names},
                "matches": hits,
            }
        )
    return {"id": f"modr-{uuid.uuid4().hex}", "model": "hearth-word-lists", "results": results}


@router.get("/audit")
async def audit(
    state: State,
    since: float | None = None,
    until: float | None = None,
    endpoint: str | None = None,
    status: int | None = None,
    provider: str | None = None,
    request_id: str | None = None,
    limit: int = 100,
) -> dict[str, Any]:
    rows = await blocking(
        lambda: state.audit.query(
            since=since,
            until=until,
            endpoint=endpoint,
            status=status,
            provider=provider,
            request_id=request_id,
            limit=max(1, min(limit, 10_000)),
        )
    )
    return {"object": "list", "data": rows, "now": time.time()}
