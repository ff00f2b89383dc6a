"""A typed Python client of the engine's HTTP API (no Qt), used by the CLI and the desktop."""

from app.engine_client.client import RESULT_FORMATS, ChatStream, EngineClient
from app.engine_client.dictation import Dictation
from app.engine_client.errors import (
    AuthenticationError,
    BadRequestError,
    BusyError,
    ContextLengthError,
    EngineError,
    EngineUnavailable,
    KeyStoreLockedError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    ServerError,
    WrongPassphraseError,
)

__all__ = [
    "RESULT_FORMATS",
    "AuthenticationError",
    "BadRequestError",
    "BusyError",
    "ChatStream",
    "ContextLengthError",
    "Dictation",
    "EngineClient",
    "EngineError",
    "EngineUnavailable",
    "KeyStoreLockedError",
    "NotFoundError",
    "PayloadTooLargeError",
    "PermissionDeniedError",
    "ServerError",
    "WrongPassphraseError",
]
