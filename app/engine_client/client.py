"""EngineClient: health, models, chat (whole or streamed) and text completions over httpx."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx

from app.engine_client.dictation import Dictation
from app.engine_client.errors import (
    EngineError,
    EngineUnavailable,
    KeyStoreLockedError,
    error_from_payload,
)
from engine.schemas import (
    CatalogEntry,
    ChatCompletion,
    ChatCompletionChunk,
    Completion,
    ContextReport,
    Conversation,
    ConversationChunk,
    EngineSettingsView,
    Health,
    Job,
    JobList,
    McpServerInfo,
    Memory,
    ModelDetail,
    ModelList,
    Provider,
    ProviderView,
    ServedBy,
    ToolRun,
)

T = TypeVar("T")
# A transcript file's suffix -> the response format that fills it.
RESULT_FORMATS = {"txt": "text", "srt": "srt", "vtt": "vtt", "json": "verbose_json"}


def _raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        payload: Any = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        payload = None
    raise error_from_payload(response.status_code, payload, response.headers.get("retry-after"))


class ChatStream:
    """The chunks of a streamed reply. Closing it (or leaving its `with`) stops generation."""

    def __init__(
        self,
        response: httpx.Response,
        context: Any,
        chunk_type: type[ChatCompletionChunk] = ChatCompletionChunk,
    ) -> None:
        self._response = response
        self._context = context
        self._chunk_type = chunk_type
        self.text = ""
        self.finish_reason: str | None = None
        self.usage: dict[str, int] | None = None
        self.served_by: ServedBy | None = None
        # Stored conversations only: what the context held, and the stored reply's id.
        self.context: ContextReport | None = None
        self.message_id: int | None = None
        self.tool_runs: dict[str, ToolRun] = {}  # calls the engine ran, by id, latest status

    def __iter__(self) -> Iterator[ChatCompletionChunk]:
        try:
            for line in self._response.iter_lines():
                if not line.startswith("data: "):
                    continue
                data = line[len("data: ") :]
                if data == "[DONE]":
                    return
                payload = json.loads(data)
                if "error" in payload:
                    raise error_from_payload(500, payload)
                chunk = self._chunk_type.model_validate(payload)
                if chunk.usage is not None:
                    self.usage = chunk.usage.model_dump()
                self.served_by = chunk.hearth or self.served_by
                if isinstance(chunk, ConversationChunk):
                    self.context = chunk.context or self.context
                    self.message_id = chunk.message_id or self.message_id
                    if chunk.tool_call is not None:
                        self.tool_runs[chunk.tool_call.id] = chunk.tool_call
                for choice in chunk.choices:
                    self.text += choice.delta.content or ""
                    self.finish_reason = choice.finish_reason or self.finish_reason
                yield chunk
        except httpx.TransportError as exc:
            raise EngineUnavailable("The connection to the engine broke during the reply.") from exc

    def deltas(self) -> Iterator[str]:
        """Just the text as it arrives."""
        for piece in self.events():
            if isinstance(piece, str):
                yield piece

    def events(self) -> Iterator[str | ToolRun]:
        """The text as it arrives, and each tool call the engine runs as its status changes."""
        for chunk in self:
            if isinstance(chunk, ConversationChunk) and chunk.tool_call is not None:
                yield chunk.tool_call
            for choice in chunk.choices:
                if choice.delta.content:
                    yield choice.delta.content

    def close(self) -> None:
        self._context.__exit__(None, None, None)

    def __enter__(self) -> ChatStream:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


class EngineClient:
    """A synchronous client of one engine. Thread-safe, as httpx.Client is."""

    def __init__(self, base_url: str, token: str | None, *, timeout: float = 600.0) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.base_url = base_url.rstrip("/")
        self._http = httpx.Client(
            base_url=self.base_url,
            headers=headers,
            timeout=httpx.Timeout(timeout, connect=5.0),
            trust_env=False,  # the engine is on loopback: never through a proxy
        )
        # Asked when a request needs a secret and the key store is locked: True once it was
        # unlocked (the terminal or the window asks the user), and the request is sent again.
        self.unlocker: Callable[[EngineClient], bool] | None = None

    @property
    def token(self) -> str | None:
        _scheme, _, token = self._http.headers.get("Authorization", "").partition(" ")
        return token or None

    def dictation(self, language: str | None = None, model: str | None = None) -> Dictation:
        """A live dictation over the engine's WebSocket (see Dictation)."""
        return Dictation(self.base_url, self.token, language, model)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> EngineClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _request(self, method: str, path: str, **kw: Any) -> httpx.Response:
        return self._unlocking(lambda: self._request_once(method, path, **kw))

    def _unlocking(self, send: Callable[[], T]) -> T:
        try:
            return send()
        except KeyStoreLockedError:
            if self.unlocker is None or not self.unlocker(self):
                raise
            return send()

    def _request_once(self, method: str, path: str, **kw: Any) -> httpx.Response:
        try:
            response = self._http.request(method, path, **kw)
        except httpx.TransportError as exc:
            raise EngineUnavailable(f"The engine at {self.base_url} cannot be reached.") from exc
        _raise_for(response)
        return response

    def health(self) -> Health:
        return Health.model_validate(self._request("GET", "/health").json())

    def models(self) -> ModelList:
        return ModelList.model_validate(self._request("GET", "/v1/models").json())

    def model(self, model_id: str) -> ModelDetail:
        return ModelDetail.model_validate(self._request("GET", f"/v1/models/{model_id}").json())

    def chat(self, messages: list[dict[str, Any]], **params: Any) -> ChatCompletion:
        body = {"messages": messages, **params, "stream": False}
        response = self._request("POST", "/v1/chat/completions", json=body)
        return ChatCompletion.model_validate(response.json())

    def stream_chat(self, messages: list[dict[str, Any]], **params: Any) -> ChatStream:
        """Start a streamed reply; use it in a `with` block so it is always closed."""
        body = {"messages": messages, **params, "stream": True}
        return self._open_stream("/v1/chat/completions", body, ChatCompletionChunk)

    def _open_stream(
        self, path: str, body: dict[str, Any], chunk_type: type[ChatCompletionChunk]
    ) -> ChatStream:
        return self._unlocking(lambda: self._open_stream_once(path, body, chunk_type))

    def _open_stream_once(
        self, path: str, body: dict[str, Any], chunk_type: type[ChatCompletionChunk]
    ) -> ChatStream:
        context = self._http.stream("POST", path, json=body)
        try:
            response = context.__enter__()
        except httpx.TransportError as exc:
            raise EngineUnavailable(f"The engine at {self.base_url} cannot be reached.") from exc
        if not response.is_success:
            response.read()
            context.__exit__(None, None, None)
            _raise_for(response)
        return ChatStream(response, context, chunk_type)

    # -- audio and jobs --------------------------------------------------------------------
    @staticmethod
    def _form(fields: dict[str, Any]) -> dict[str, str | list[str]]:
        """Multipart fields as OpenAI sends them: lists as `name[]`, booleans as true/false."""

        def text(v: Any) -> str:
            return str(v).lower() if isinstance(v, bool) else str(v)

        form: dict[str, str | list[str]] = {}
        for key, value in fields.items():
            if isinstance(value, (list, tuple)):
                form[f"{key}[]"] = [text(v) for v in value]
            elif value is not None:
                form[key] = text(value)
        return form

    def transcribe(self, path: Path, *, translate: bool = False, **fields: Any) -> Any:
        """Transcribe (or translate into English) one file and wait; JSON formats give a dict."""
        route = "/v1/audio/translations" if translate else "/v1/audio/transcriptions"
        with path.open("rb") as f:
            response = self._request(
                "POST", route, files={"file": (path.name, f)}, data=self._form(fields)
            )
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def ocr(self, path: Path) -> dict[str, Any]:
        """The text in an image, with its lines, boxes and confidences."""
        with path.open("rb") as f:
            response = self._request("POST", "/v1/images/ocr", files={"file": (path.name, f)})
        return dict(response.json())

    def caption(self, path: Path, prompt: str | None = None, model: str | None = None) -> str:
        """A description of an image by an installed vision model."""
        with path.open("rb") as f:
            response = self._request(
                "POST", "/v1/images/captions", files={"file": (path.name, f)},
                data=self._form({"prompt": prompt, "model": model}),
            )  # fmt: skip
        return str(response.json()["caption"])

    def submit_job(self, path: Path, **fields: Any) -> Job:
        with path.open("rb") as f:
            response = self._request(
                "POST", "/v1/jobs", files={"file": (path.name, f)}, data=self._form(fields)
            )
        return Job.model_validate(response.json())

    def job(self, job_id: str) -> Job:
        return Job.model_validate(self._request("GET", f"/v1/jobs/{job_id}").json())

    def jobs(self) -> JobList:
        return JobList.model_validate(self._request("GET", "/v1/jobs").json())

    def cancel_job(self, job_id: str) -> Job:
        return Job.model_validate(self._request("DELETE", f"/v1/jobs/{job_id}").json())

    def job_result(self, job_id: str, fmt: str | None = None) -> Any:
        params = {"format": fmt} if fmt else None
        response = self._request("GET", f"/v1/jobs/{job_id}/result", params=params)
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.text

    def save_job_result(self, job_id: str, target: Path, fmt: str | None = None) -> Path:
        """Write a finished job's result to `target`; `fmt` is one of the API's response
        formats (RESULT_FORMATS maps file suffixes to them), None the job's own."""
        result = self.job_result(job_id, fmt)
        if not isinstance(result, str):
            result = json.dumps(result, ensure_ascii=False, indent=2) + "\n"
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(result, encoding="utf-8")
        return target

    def job_events(self, job_id: str) -> Iterator[Job]:
        """The job's state after every change, until it ends."""
        try:
            with self._http.stream("GET", f"/v1/jobs/{job_id}/events") as response:
                if not response.is_success:
                    response.read()
                    _raise_for(response)
                for line in response.iter_lines():
                    if line.startswith("data: {"):
                        yield Job.model_validate_json(line[len("data: ") :])
        except httpx.TransportError as exc:
            raise EngineUnavailable("The connection to the engine broke.") from exc

    # -- key store (names only come back; values never do) -----------------------------------
    def key_names(self) -> list[str]:
        return [k["name"] for k in self._request("GET", "/v1/keys").json()["data"]]

    def set_key(self, name: str, value: str) -> None:
        self._request("PUT", f"/v1/keys/{name}", json={"value": value})

    def delete_key(self, name: str) -> None:
        self._request("DELETE", f"/v1/keys/{name}")

    def key_store_state(self) -> str:
        """'unlocked', 'locked', 'new' (no passphrase chosen yet) or 'unavailable'."""
        return str(self._request("GET", "/v1/keys/status").json()["state"])

    def unlock_keys(self, passphrase: str, remember: bool = True) -> str:
        """Open the encrypted key store (the first passphrase creates it); WrongPassphraseError
        when it is not the store's."""
        body = {"passphrase": passphrase, "remember": remember}
        return str(self._request("POST", "/v1/keys/unlock", json=body).json()["state"])

    # -- conversations ------------------------------------------------------------------------
    def conversations(self, query: str | None = None) -> list[Conversation]:
        params = {"q": query} if query else None
        data = self._request("GET", "/v1/conversations", params=params).json()["data"]
        return [Conversation.model_validate(c) for c in data]

    def create_conversation(self, **fields: Any) -> Conversation:
        return Conversation.model_validate(
            self._request("POST", "/v1/conversations", json=fields).json()
        )

    def conversation(self, conv_id: str) -> Conversation:
        return Conversation.model_validate(
            self._request("GET", f"/v1/conversations/{conv_id}").json()
        )

    def update_conversation(self, conv_id: str, **fields: Any) -> Conversation:
        response = self._request("PATCH", f"/v1/conversations/{conv_id}", json=fields)
        return Conversation.model_validate(response.json())

    def delete_conversation(self, conv_id: str) -> None:
        self._request("DELETE", f"/v1/conversations/{conv_id}")

    def export_conversation(self, conv_id: str, fmt: str = "md") -> str:
        return self._request(
            "GET", f"/v1/conversations/{conv_id}/export", params={"format": fmt}
        ).text

    def record_messages(self, conv_id: str, messages: list[dict[str, Any]]) -> list[int]:
        """Keep turns answered through chat completions (remote models, image turns)."""
        path = f"/v1/conversations/{conv_id}/records"
        response = self._request("POST", path, json={"messages": messages})
        return [int(i) for i in response.json()["message_ids"]]

    def truncate_conversation(self, conv_id: str, from_message_id: int) -> int:
        """Delete a message and all after it (regenerate, edit-and-resend)."""
        path = f"/v1/conversations/{conv_id}/messages/{from_message_id}"
        return int(self._request("DELETE", path).json()["deleted"])

    def send_message(self, conv_id: str, content: str, **params: Any) -> ChatStream:
        """Stream a reply in a stored conversation (closing the stream stops it)."""
        body = {"content": content, **params, "stream": True}
        path = f"/v1/conversations/{conv_id}/messages"
        return self._open_stream(path, body, ConversationChunk)

    def decide_tool_call(self, conv_id: str, call_id: str, action: str) -> ToolRun:
        """Approve, deny or always allow a call waiting in a conversation."""
        path = f"/v1/conversations/{conv_id}/tool_calls/{call_id}"
        return ToolRun.model_validate(self._request("POST", path, json={"action": action}).json())

    # -- MCP servers ------------------------------------------------------------------------
    def mcp_servers(self) -> list[McpServerInfo]:
        data = self._request("GET", "/v1/mcp/servers").json()["data"]
        return [McpServerInfo.model_validate(s) for s in data]

    def add_mcp_server(self, **fields: Any) -> McpServerInfo:
        return McpServerInfo.model_validate(
            self._request("POST", "/v1/mcp/servers", json=fields).json()
        )

    def update_mcp_server(self, name: str, **changes: Any) -> McpServerInfo:
        return McpServerInfo.model_validate(
            self._request("PATCH", f"/v1/mcp/servers/{name}", json=changes).json()
        )

    def offered_tools(self) -> list[dict[str, Any]]:
        """Every tool a conversation with tools on is offered (starting the servers)."""
        return list(self._request("GET", "/v1/tools").json()["data"])

    def remove_mcp_server(self, name: str) -> None:
        self._request("DELETE", f"/v1/mcp/servers/{name}")

    # -- model files ------------------------------------------------------------------------
    def pull(self, model: str | None = None, url: str | None = None) -> Iterator[dict[str, Any]]:
        """Progress events of a download (the last one is success, or an error is raised)."""
        body = {"model": model, "url": url, "stream": True}
        try:
            with self._http.stream("POST", "/v1/models/pull", json=body) as response:
                if not response.is_success:
                    response.read()
                    _raise_for(response)
                for line in response.iter_lines():
                    if not line.startswith("data: {"):
                        continue
                    event = json.loads(line[len("data: ") :])
                    if "error" in event:
                        raise error_from_payload(500, event)
                    yield event
        except httpx.TransportError as exc:
            raise EngineUnavailable("The connection to the engine broke.") from exc

    def catalog(self) -> list[CatalogEntry]:
        data = self._request("GET", "/v1/catalog").json()["data"]
        return [CatalogEntry.model_validate(m) for m in data]

    def import_model(self, path: Path) -> str:
        body = {"path": str(path.resolve())}
        return str(self._request("POST", "/v1/models/import", json=body).json()["id"])

    def create_custom_model(self, **definition: Any) -> dict[str, Any]:
        return dict(self._request("POST", "/v1/custom-models", json=definition).json())

    def remove_model(self, model_id: str) -> None:
        self._request("DELETE", f"/v1/models/{model_id}")

    # -- providers and usage ------------------------------------------------------------------
    def providers(self) -> list[ProviderView]:
        data = self._request("GET", "/v1/providers").json()["data"]
        return [ProviderView.model_validate(p) for p in data]

    def add_provider(self, **fields: Any) -> Provider:
        body = {k: v for k, v in fields.items() if v is not None}
        return Provider.model_validate(self._request("POST", "/v1/providers", json=body).json())

    def remove_provider(self, name: str) -> None:
        self._request("DELETE", f"/v1/providers/{name}")

    def test_provider(self, name: str) -> list[str]:
        return list(self._request("POST", f"/v1/providers/{name}/test").json()["models"])

    def usage(
        self, group_by: str | None = None, since: float | None = None
    ) -> list[dict[str, Any]]:
        params = {k: v for k, v in (("group_by", group_by), ("since", since)) if v is not None}
        return list(self._request("GET", "/v1/usage", params=params).json()["data"])

    def audit(self, limit: int = 100) -> list[dict[str, Any]]:
        return list(self._request("GET", "/v1/audit", params={"limit": limit}).json()["data"])

    # -- settings, token, memories ---------------------------------------------------------------
    def settings(self) -> EngineSettingsView:
        return EngineSettingsView.model_validate(self._request("GET", "/v1/settings").json())

    def update_settings(self, **changes: Any) -> EngineSettingsView:
        response = self._request("PATCH", "/v1/settings", json=changes)
        return EngineSettingsView.model_validate(response.json())

    def rotate_token(self) -> str:
        """A new local API token; this client switches to it at once."""
        token = str(self._request("POST", "/v1/token/rotate").json()["token"])
        self._http.headers["Authorization"] = f"Bearer {token}"
        return token

    def add_memory(self, content: str) -> Memory:
        response = self._request("POST", "/v1/memories", json={"content": content})
        return Memory.model_validate(response.json())

    def memories(self, query: str | None = None) -> list[Memory]:
        params = {"q": query} if query else None
        data = self._request("GET", "/v1/memories", params=params).json()["data"]
        return [Memory.model_validate(m) for m in data]

    def update_memory(self, memory_id: int, content: str) -> Memory:
        response = self._request("PATCH", f"/v1/memories/{memory_id}", json={"content": content})
        return Memory.model_validate(response.json())

    def delete_memory(self, memory_id: int) -> None:
        self._request("DELETE", f"/v1/memories/{memory_id}")

    # -- knowledge (vector stores) ----------------------------------------------------------
    def vector_stores(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/v1/vector_stores").json()["data"])

    def create_vector_store(self, name: str) -> dict[str, Any]:
        return dict(self._request("POST", "/v1/vector_stores", json={"name": name}).json())

    def delete_vector_store(self, store_id: str) -> None:
        self._request("DELETE", f"/v1/vector_stores/{store_id}")

    def vector_store_files(self, store_id: str) -> list[dict[str, Any]]:
        return list(self._request("GET", f"/v1/vector_stores/{store_id}/files").json()["data"])

    def add_to_vector_store(self, store_id: str, path: Path) -> dict[str, Any]:
        """Upload a file and index it in the store."""
        with path.open("rb") as handle:
            uploaded = self._request("POST", "/v1/files", data={"purpose": "assistants"},
                                     files={"file": (path.name, handle)}).json()  # fmt: skip
        body = {"file_id": uploaded["id"]}
        return dict(self._request("POST", f"/v1/vector_stores/{store_id}/files", json=body).json())

    def remove_from_vector_store(self, store_id: str, file_id: str) -> None:
        self._request("DELETE", f"/v1/vector_stores/{store_id}/files/{file_id}")

    def watch_folder(
        self, store_id: str, path: Path, include: list[str] | None = None,
        exclude: list[str] | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        body = {"path": str(path), "include": include or [], "exclude": exclude or []}
        return dict(
            self._request("POST", f"/v1/vector_stores/{store_id}/folders", json=body).json()
        )

    def watched_folders(self, store_id: str) -> list[dict[str, Any]]:
        return list(self._request("GET", f"/v1/vector_stores/{store_id}/folders").json()["data"])

    def search_vector_store(
        self, store_id: str, query: str, limit: int = 10
    ) -> list[dict[str, Any]]:
        body = {"query": query, "max_num_results": limit}
        response = self._request("POST", f"/v1/vector_stores/{store_id}/search", json=body)
        return list(response.json()["data"])

    def source_of(self, store_id: str, file_id: str, cache: Path) -> Path:
        """Where a store's file can be opened: a watched folder's file where it is, an uploaded
        one saved under `cache` (once)."""
        entry = self._request("GET", f"/v1/vector_stores/{store_id}/files/{file_id}").json()
        folder_id = entry["attributes"].get("folder_id")
        if folder_id:
            folder = self._request("GET", f"/v1/vector_stores/{store_id}/folders/{folder_id}")
            return Path(folder.json()["path"], *str(entry["attributes"]["path"]).split("/"))
        target = cache / file_id / Path(entry["filename"]).name
        if not target.exists():
            data = self._request("GET", f"/v1/files/{file_id}/content").content
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
        return target

    # -- fine-tuning ---------------------------------------------------------------------------
    def upload_training_file(self, path: Path) -> str:
        with path.open("rb") as handle:
            uploaded = self._request("POST", "/v1/files", data={"purpose": "fine-tune"},
                                     files={"file": (path.name, handle)}).json()  # fmt: skip
        return str(uploaded["id"])

    def training_file_from(self, conversation_ids: list[str]) -> str:
        body = {"conversation_ids": conversation_ids}
        return str(self._request("POST", "/v1/fine_tuning/training_files", json=body).json()["id"])

    def fine_tuning_estimate(self, **job: Any) -> dict[str, Any]:
        return dict(self._request("POST", "/v1/fine_tuning/estimates", json=job).json())

    def create_fine_tuning_job(self, **job: Any) -> dict[str, Any]:
        return dict(self._request("POST", "/v1/fine_tuning/jobs", json=job).json())

    def fine_tuning_jobs(self) -> list[dict[str, Any]]:
        return list(self._request("GET", "/v1/fine_tuning/jobs").json()["data"])

    def fine_tuning_job(self, job_id: str) -> dict[str, Any]:
        return dict(self._request("GET", f"/v1/fine_tuning/jobs/{job_id}").json())

    def fine_tuning_events(self, job_id: str) -> list[dict[str, Any]]:
        """All the job's events, oldest first."""
        path = f"/v1/fine_tuning/jobs/{job_id}/events"
        events = self._request("GET", path, params={"limit": 1000}).json()["data"]
        return list(reversed(events))

    def cancel_fine_tuning_job(self, job_id: str) -> dict[str, Any]:
        return dict(self._request("POST", f"/v1/fine_tuning/jobs/{job_id}/cancel").json())

    def complete(self, prompt: str, **params: Any) -> Completion:
        body = {"prompt": prompt, **params, "stream": False}
        response = self._request("POST", "/v1/completions", json=body)
        return Completion.model_validate(response.json())


__all__ = ["ChatStream", "EngineClient", "EngineError"]
