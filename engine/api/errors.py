"""The one place that turns errors into OpenAI-shaped JSON responses."""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from engine.errors import Busy, HearthError
from engine.schemas import ErrorBody, ErrorResponse

log = logging.getLogger(__name__)

_HTTP_TYPES = {
    401: ("authentication_error", "invalid_api_key"),
    403: ("permission_error", "forbidden"),
    404: ("invalid_request_error", "not_found"),
    405: ("invalid_request_error", "method_not_allowed"),
    413: ("invalid_request_error", "payload_too_large"),
}


def error_payload(
    message: str, type_: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    body = ErrorBody(message=message, type=type_, code=code, param=param)
    return ErrorResponse(error=body).model_dump()


def error_response(exc: HearthError) -> JSONResponse:
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, Busy) else None
    return JSONResponse(
        error_payload(exc.message, exc.type, exc.code, exc.param),
        status_code=exc.status,
        headers=headers,
    )


# pydantic puts the union member it tried into `loc` ("str", "list[...]", "TextPart"): not a field.
_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "list", "dict", "none"})


def _is_field(part: object) -> bool:
    text = str(part)
    return not (
        text == "body" or text in _TYPE_TAGS or "[" in text or "-" in text or text[:1].isupper()
    )


def _param_of(loc: tuple[Any, ...]) -> str | None:
    parts = [str(p) for p in loc if _is_field(p)]
    if not parts:
        return None
    text = parts[0]
    for part in parts[1:]:
        text += f"[{part}]" if part.isdigit() else f".{part}"
    return text


def validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    errors = exc.errors()
    if not errors:
        return "The request is invalid.", None
    first = errors[0]
    if first.get("type") == "json_invalid":
        return "The request body is not valid JSON.", None
    param = _param_of(tuple(first.get("loc", ())))
    reason = str(first.get("msg", "invalid value"))
    if first.get("type") == "missing":
        return f"Missing required parameter: '{param}'.", param
    if param is None:
        return f"The request body is invalid: {reason}.", None
    return f"Invalid value for '{param}': {reason}.", param


_ANTHROPIC_TYPES = {
    400: "invalid_request_error", 401: "authentication_error", 403: "permission_error",
    404: "not_found_error", 413: "request_too_large", 429: "rate_limit_error",
    503: "overloaded_error",
}  # fmt: skip


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    """Anthropic's error shape, for its Messages API's clients."""
    kind = _ANTHROPIC_TYPES.get(status, "invalid_request_error" if status < 500 else "api_error")
    return {"type": "error", "error": {"type": kind, "message": message}}


def _dialect(request: Request, response: JSONResponse) -> JSONResponse:
    """The error in the shape the route's own clients read (OpenAI's unless said otherwise)."""
    path = request.url.path
    if not path.startswith(("/v1/messages", "/api/")):
        return response
    message = json.loads(bytes(response.body))["error"]["message"]
    if path.startswith("/api/"):  # Ollama's
        return JSONResponse({"error": message}, response.status_code)
    headers = {k: v for k, v in response.headers.items() if k.lower() == "retry-after"}
    return JSONResponse(
        anthropic_error(response.status_code, message), response.status_code, headers
    )


def install_error_handlers(app: FastAPI) -> None:
    async def on_hearth_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HearthError)
        if exc.status >= 500:
            log.error("%s: %s", exc.code, exc.message)
        return _dialect(request, error_response(exc))

    async def on_validation_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        message, param = validation_message(exc)
        return _dialect(
            request,
            JSONResponse(
                error_payload(message, "invalid_request_error", "invalid_value", param),
                status_code=400,
            ),
        )

    async def on_http_error(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        type_, code = _HTTP_TYPES.get(exc.status_code, ("invalid_request_error", None))
        if exc.status_code == 404:
            message = f"Unknown request URL: {request.method} {request.url.path}."
        else:
            message = str(exc.detail)
        return _dialect(
            request,
            JSONResponse(
                error_payload(message, type_, code),
                status_code=exc.status_code,
                headers=exc.headers,
            ),
        )

    async def on_too_deep(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse(
            error_payload(
                "The request body is nested too deeply.",
                "invalid_request_error",
                "too_deeply_nested",
            ),
            status_code=400,
        )

    async def on_unexpected(_request: Request, exc: Exception) -> JSONResponse:
        # Never a stack trace or a path in the answer; the log names only the kind of failure.
        log.error("unexpected %s while serving a request", type(exc).__name__)
        return JSONResponse(
            error_payload("The engine hit an internal error.", "server_error", "internal_error"),
            status_code=500,
        )

    app.add_exception_handler(HearthError, on_hearth_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(StarletteHTTPException, on_http_error)
    app.add_exception_handler(RecursionError, on_too_deep)
    app.add_exception_handler(Exception, on_unexpected)
