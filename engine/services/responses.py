"""The Responses API's state over the chat router: stored responses (`store`), continuing
from one (`previous_response_id`, with `truncation: auto` dropping the oldest turns that do not
fit), background runs that can be polled and cancelled, and streamed events."""

from __future__ import annotations

import asyncio
import copy
import logging
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from engine.dialects.responses import (
    Item,
    StreamEvents,
    citations,
    ending,
    input_items,
    new_id,
    output_as_input,
    output_items,
    passages_message,
    search_call,
    to_chat,
    usage_of,
)
from engine.errors import ContextLengthExceeded, HearthError, InvalidInput, NotFound
from engine.knowledge.filters import check
from engine.knowledge.store import Hit
from engine.memory.responses import ResponseStore
from engine.remote.router import ChatRouter, RoutedReply
from engine.schemas.responses import FunctionTool, ResponsesRequest
from engine.services.knowledge import KnowledgeService

log = logging.getLogger(__name__)
T = TypeVar("T")
Event = tuple[str, dict[str, Any]]
STOPPED = "the engine stopped before this response finished"


@dataclass
class Prepared:
    """A request with its response's first body, its own input items and what came before;
    with a file_search tool, the passages found for it."""

    req: ResponsesRequest
    body: dict[str, Any]
    items: list[Item]
    history: list[Item]
    search: FunctionTool | None = None
    query: str = ""
    hits: list[Hit] = field(default_factory=list)

    def search_item(self) -> Item | None:
        if self.search is None:
            return None
        wanted = "file_search_call.results" in (self.req.include or [])
        return search_call(self.query, self.hits if wanted else None)

    def finished_output(self, output: list[Item]) -> list[Item]:
        """The reply's items, after the search's, with the [n] citations annotated."""
        if self.search is None:
            return output
        for item in output:
            if item["type"] == "message":
                part = item["content"][0]
                part["annotations"] = citations(part["text"], self.hits)
        searched = self.search_item()
        return [searched, *output] if searched is not None else output


def _last_user_text(items: list[Item]) -> str:
    for item in reversed(items):
        if item.get("type", "message") == "message" and item.get("role") == "user":
            content = item["content"]
            if isinstance(content, str):
                return content
            return " ".join(p.get("text", "") for p in content if "text" in p)
    return ""


def _first_body(req: ResponsesRequest) -> dict[str, Any]:
    fmt = (
        req.text.format.model_dump(by_alias=True, exclude_none=True)
        if req.text and req.text.format
        else {"type": "text"}
    )
    choice = req.tool_choice
    return {
        "id": new_id("resp"),
        "object": "response",
        "created_at": int(time.time()),
        "status": "in_progress",
        "model": req.model or "",
        "output": [],
        "usage": None,
        "error": None,
        "incomplete_details": None,
        "instructions": req.instructions,
        "max_output_tokens": req.max_output_tokens,
        "temperature": req.temperature,
        "top_p": req.top_p,
        "tools": [t.model_dump(exclude_none=True) for t in req.tools or []],
        "tool_choice": choice.model_dump()
        if choice is not None and not isinstance(choice, str)
        else choice or "auto",
        "parallel_tool_calls": req.parallel_tool_calls,
        "text": {"format": fmt},
        "previous_response_id": req.previous_response_id,
        "store": req.store,
        "background": req.background,
        "truncation": req.truncation,
        "metadata": req.metadata or {},
        "user": req.user,
    }


def _ended(body: dict[str, Any], gen: RoutedReply, finish: str | None, output: list[Item]) -> None:
    status, incomplete = ending(finish)
    body.update(
        status=status, incomplete_details=incomplete, output=output, usage=usage_of(gen.usage())
    )


def _annotated(prepared: Prepared, output: list[Item]) -> list[Item]:
    """A streamed reply's items (the search's is already first) with their citations."""
    if prepared.search is None:
        return output
    return [output[0], *prepared.finished_output(output[1:])[1:]]


def _failed(body: dict[str, Any], exc: HearthError) -> None:
    body.update(status="failed", error={"code": exc.code, "message": exc.message})


def _without_oldest_turn(history: list[Item]) -> list[Item] | None:
    """History less its first turn (up to the next user message); None when nothing is left."""
    for i in range(1, len(history)):
        item = history[i]
        if item.get("type", "message") == "message" and item.get("role") == "user":
            return history[i:]
    return [] if history else None


class ResponsesService:
    def __init__(
        self,
        router: ChatRouter,
        store: ResponseStore,
        executor: Executor,
        knowledge: KnowledgeService,
    ) -> None:
        self._router = router
        self._knowledge = knowledge
        self._store = store
        self._executor = executor
        self._running: dict[str, asyncio.Task[None]] = {}

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def open(self) -> None:
        marked = await self._run(self._store.fail_unfinished, STOPPED)
        if marked:
            log.warning("%d background responses were left unfinished by the last run", marked)

    async def close(self) -> None:
        """Cancel background runs (each stores what it has, as cancelled)."""
        tasks = list(self._running.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    # -- creating ------------------------------------------------------------------------------
    async def prepare(self, req: ResponsesRequest) -> Prepared:
        if req.background and not req.store:
            raise InvalidInput(
                "a background response must be stored (store: true)", param="background"
            )
        if req.background and req.stream:
            raise InvalidInput(
                "a background response cannot be streamed; poll GET /v1/responses/{id} instead",
                param="stream",
            )
        history: list[Item] = []
        if req.previous_response_id is not None:
            chain = await self._run(self._store.chain, req.previous_response_id)
            if chain is None:
                raise NotFound(
                    f"No stored response with id '{req.previous_response_id}'.",
                    param="previous_response_id",
                )
            for stored in chain:
                history += stored.input_items + output_as_input(stored.body.get("output", []))
        prepared = Prepared(req, _first_body(req), input_items(req), history)
        searches = [t for t in req.tools or [] if t.type == "file_search"]
        if len(searches) > 1:
            raise InvalidInput("send at most one file_search tool", param="tools")
        if searches:
            tool = searches[0]
            if not tool.vector_store_ids:
                raise InvalidInput("file_search needs vector_store_ids", param="tools")
            check(tool.filters)
            prepared.search, prepared.query = tool, _last_user_text(prepared.items)
            prepared.hits = await self._passages(tool, prepared.query)
        return prepared

    async def _passages(self, tool: FunctionTool, query: str) -> list[Hit]:
        """The best passages for the query over the tool's stores."""
        if not query.strip():
            return []
        limit = tool.max_num_results or 5
        hits: list[Hit] = []
        for store_id in tool.vector_store_ids or []:
            hits += await self._knowledge.search(store_id, [query], limit, tool.filters)
        return sorted(hits, key=lambda h: -h.score)[:limit]

    async def start(self, prepared: Prepared) -> RoutedReply:
        """Start the reply; with `truncation: auto`, the oldest turns go until it fits."""
        history = prepared.history
        items = prepared.items
        if prepared.hits:  # the passages go just before the newest question
            last = max(i for i, it in enumerate(items) if it.get("role") == "user") if any(
                it.get("role") == "user" for it in items) else len(items)  # fmt: skip
            found = passages_message(prepared.hits)
            items = [*items[:last], {"type": "message", **found}, *items[last:]]
        while True:
            try:
                chat = to_chat(prepared.req, history + items)
                gen = await self._router.start_chat(chat, "/v1/responses")
            except ContextLengthExceeded:
                shorter = _without_oldest_turn(history)
                if prepared.req.truncation != "auto" or shorter is None:
                    raise
                history = shorter
                continue
            prepared.body["model"] = gen.model_id
            return gen

    async def finish(self, prepared: Prepared, gen: RoutedReply) -> dict[str, Any]:
        """The whole response; a background one is returned at once and finishes as a task."""
        body = prepared.body
        if prepared.req.background:
            body["status"] = "in_progress"  # already in the model's queue
            await self._run(self._store.save, body, prepared.items)
            task = asyncio.create_task(self._in_background(prepared, gen))
            self._running[body["id"]] = task
            task.add_done_callback(lambda _t: self._running.pop(body["id"], None))
            return copy.deepcopy(body)
        text, finish = await gen.collect()
        calls = [(c.id, c.function.name, c.function.arguments) for c in gen.tool_calls()]
        _ended(body, gen, finish, prepared.finished_output(output_items(text, calls)))
        if prepared.req.store:
            await self._run(self._store.save, body, prepared.items)
        return body

    async def _in_background(self, prepared: Prepared, gen: RoutedReply) -> None:
        body = copy.deepcopy(prepared.body)
        body["status"] = "in_progress"
        try:
            text, finish = await gen.collect()
            calls = [(c.id, c.function.name, c.function.arguments) for c in gen.tool_calls()]
            _ended(body, gen, finish, prepared.finished_output(output_items(text, calls)))
        except asyncio.CancelledError:
            gen.cancel()
            output = prepared.finished_output(output_items("".join(gen.text), []))
            _ended(body, gen, "cancelled", output)
        except HearthError as exc:
            _failed(body, exc)
        finally:
            await asyncio.shield(self._run(self._store.save, body, prepared.items))

    async def stream(self, prepared: Prepared, gen: RoutedReply) -> AsyncIterator[Event]:
        """The typed events; what was said is stored even when the client leaves midway."""
        body, events = prepared.body, StreamEvents()
        yield events.event("response.created", response=copy.deepcopy(body))
        yield events.event("response.in_progress", response=copy.deepcopy(body))
        searched = prepared.search_item()
        if searched is not None:
            for event in events.searched(searched):
                yield event
        finish: str | None = None
        try:
            async for piece in gen.pieces():
                for event in events.piece(piece):
                    yield event
                finish = piece.finish_reason or finish
            for event in events.close():
                yield event
            _ended(body, gen, finish, _annotated(prepared, events.output))
            if prepared.req.store:
                await self._run(self._store.save, body, prepared.items)
            kind = "completed" if body["status"] == "completed" else "incomplete"
            yield events.event(f"response.{kind}", response=body)
        except HearthError as exc:
            _failed(body, exc)
            yield events.event("error", code=exc.code, message=exc.message, param=exc.param)
            yield events.event("response.failed", response=body)
        finally:
            gen.cancel()
            if body["status"] == "in_progress":  # the client left: keep what was said
                events.close()
                _ended(body, gen, "cancelled", events.output)
            if prepared.req.store and body["status"] in ("cancelled", "failed"):
                # Not awaited: a client that left has cancelled this task's scope.
                asyncio.get_running_loop().run_in_executor(
                    self._executor, self._store.save, body, prepared.items
                )

    # -- stored --------------------------------------------------------------------------------
    async def get(self, response_id: str) -> dict[str, Any]:
        stored = await self._run(self._store.get, response_id)
        if stored is None:
            raise NotFound(f"No stored response with id '{response_id}'.")
        return stored.body

    async def delete(self, response_id: str) -> None:
        task = self._running.get(response_id)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if not await self._run(self._store.delete, response_id):
            raise NotFound(f"No stored response with id '{response_id}'.")

    async def cancel(self, response_id: str) -> dict[str, Any]:
        body = await self.get(response_id)
        if not body.get("background"):
            raise InvalidInput("only background responses can be cancelled", param="response_id")
        task = self._running.get(response_id)
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            body = await self.get(response_id)
        return body

    async def input_items(
        self, response_id: str, limit: int, order: str, after: str | None
    ) -> dict[str, Any]:
        stored = await self._run(self._store.get, response_id)
        if stored is None:
            raise NotFound(f"No stored response with id '{response_id}'.")
        items = stored.input_items if order == "asc" else list(reversed(stored.input_items))
        if after is not None:
            ids = [item.get("id") for item in items]
            if after not in ids:
                raise InvalidInput(
                    f"No input item with id '{after}' in this response.", param="after"
                )
            items = items[ids.index(after) + 1 :]
        page = items[:limit]
        return {
            "object": "list",
            "data": page,
            "first_id": page[0]["id"] if page else None,
            "last_id": page[-1]["id"] if page else None,
            "has_more": len(items) > limit,
        }
