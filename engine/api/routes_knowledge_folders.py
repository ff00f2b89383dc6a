"""Hearth's watched folders for a vector store: `/v1/vector_stores/{id}/folders`. A folder is
read recursively (include and exclude are glob patterns matched against each file's path inside
the folder and its name), scanned again every few seconds, and only what changed is indexed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from engine.api.routes_vector_stores import StoreId, listed
from engine.api.state import State

router = APIRouter(prefix="/v1/vector_stores")
FolderId = Annotated[str, Path(pattern=r"^vsfo_[0-9a-f]{32}$")]
Patterns = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]],
                     Field(default_factory=list, max_length=50)]  # fmt: skip


class FolderAdd(BaseModel):
    path: str = Field(min_length=1, max_length=4096)  # absolute, on this machine
    include: Patterns  # e.g. ["*.md", "papers/*.pdf"]; none: every file Hearth reads
    exclude: Patterns  # e.g. ["drafts/*"]


@router.post("/{store_id}/folders")
async def add_folder(store_id: StoreId, body: FolderAdd, state: State) -> dict[str, Any]:
    return await state.knowledge.add_folder(store_id, body.path, body.include, body.exclude)


@router.get("/{store_id}/folders")
async def list_folders(store_id: StoreId, state: State) -> dict[str, Any]:
    return listed(await state.knowledge.folders(store_id))


@router.get("/{store_id}/folders/{folder_id}")
async def get_folder(store_id: StoreId, folder_id: FolderId, state: State) -> dict[str, Any]:
    return await state.knowledge.folder(store_id, folder_id)


@router.post("/{store_id}/folders/{folder_id}/scan")
async def scan_folder(store_id: StoreId, folder_id: FolderId, state: State) -> dict[str, Any]:
    """Look for changes now instead of at the next turn."""
    await state.knowledge.folder(store_id, folder_id)
    await state.knowledge.scan_folders(folder_id)
    return await state.knowledge.folder(store_id, folder_id)


@router.delete("/{store_id}/folders/{folder_id}")
async def remove_folder(store_id: StoreId, folder_id: FolderId, state: State) -> dict[str, Any]:
    await state.knowledge.remove_folder(store_id, folder_id)
    return {"id": folder_id, "object": "vector_store.folder.deleted", "deleted": True}
