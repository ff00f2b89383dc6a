"""The engine's live settings (/v1/settings) and the local API token's rotation."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from engine.api.state import State, blocking
from engine.schemas import EngineSettingsView, SettingsUpdate

router = APIRouter(prefix="/v1")


@router.get("/settings")
async def get_settings(state: State) -> EngineSettingsView:
    return state.settings_service.view()


@router.patch("/settings")
async def update_settings(body: SettingsUpdate, state: State) -> EngineSettingsView:
    return await state.settings_service.update(body)


@router.post("/token/rotate")
async def rotate_token(state: State) -> dict[str, Any]:
    """A new local API token; the old one stops working now. The caller gets the new one."""
    token = await blocking(state.api_token.rotate)
    return {"object": "api_token", "token": token}
