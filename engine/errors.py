"""Typed errors raised anywhere in the engine.

Each error carries the OpenAI error fields (`type`, `code`, `param`) and an HTTP status, so the
API has exactly one place that turns them into responses (engine.api.errors). Messages are
written for users: no stack traces, absolute paths or secrets.
"""

from __future__ import annotations


class HearthError(Exception):
    """Base of every error the engine reports to a client."""

    status: int = 500
    type: str = "server_error"
    code: str = "internal_error"

    def __init__(self, message: str, *, param: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.param = param


class InvalidInput(HearthError):
    status = 400
    type = "invalid_request_error"
    code = "invalid_value"

    def __init__(self, message: str, *, param: str | None = None, code: str | None = None) -> None:
        super().__init__(message, param=param)
        if code is not None:
            self.code = code


class ContextLengthExceeded(InvalidInput):
    code = "context_length_exceeded"


class NotFound(HearthError):
    status = 404
    type = "invalid_request_error"
    code = "not_found"


class ModelNotFound(NotFound):
    code = "model_not_found"


class PayloadTooLarge(HearthError):
    status = 413
    type = "invalid_request_error"
    code = "payload_too_large"


class Busy(HearthError):
    """The model's queue is full; the client should retry after `retry_after` seconds."""

    status = 429
    type = "rate_limit_error"
    code = "queue_full"

    def __init__(self, message: str, *, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ModelLoadFailed(HearthError):
    status = 500
    type = "server_error"
    code = "model_load_failed"


class InvalidModelFile(ModelLoadFailed):
    """A GGUF file failed the header check before llama.cpp saw it."""


class GenerationFailed(HearthError):
    status = 500
    type = "server_error"
    code = "generation_failed"


class SetupFailed(HearthError):
    """Installing an embedded model or another set-up step failed."""

    code = "setup_failed"
