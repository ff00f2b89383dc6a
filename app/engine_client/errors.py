"""Typed exceptions for the engine's OpenAI-shaped error JSON."""

from __future__ import annotations

from typing import Any


class EngineError(Exception):
    """An error the engine reported, or a failure to reach it."""

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        type_: str | None = None,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.type = type_
        self.code = code
        self.param = param


class EngineUnavailable(EngineError):
    """The engine could not be reached (not running, or it went away)."""


class BadRequestError(EngineError):
    pass


class ContextLengthError(BadRequestError):
    pass


class AuthenticationError(EngineError):
    pass


class PermissionDeniedError(EngineError):
    pass


class KeyStoreLockedError(PermissionDeniedError):
    """A secret is needed and the key store is locked (or has no passphrase yet)."""


class WrongPassphraseError(BadRequestError):
    pass


class NotFoundError(EngineError):
    pass


class PayloadTooLargeError(EngineError):
    pass


class BusyError(EngineError):
    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ServerError(EngineError):
    pass


_BY_STATUS: dict[int, type[EngineError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    413: PayloadTooLargeError,
    429: BusyError,
}


_BY_CODE: dict[str, type[EngineError]] = {
    "context_length_exceeded": ContextLengthError,
    "keystore_locked": KeyStoreLockedError,
    "wrong_passphrase": WrongPassphraseError,
}


def error_from_payload(status: int, payload: Any, retry_after: str | None = None) -> EngineError:
    """Map an error response (status and decoded JSON) to its typed exception."""
    body = payload.get("error") if isinstance(payload, dict) else None
    if not isinstance(body, dict):
        body = {"message": f"The engine answered with status {status}."}
    message = str(body.get("message") or f"The engine answered with status {status}.")
    fields: dict[str, Any] = {
        "status": status,
        "type_": body.get("type"),
        "code": body.get("code"),
        "param": body.get("param"),
    }
    special = _BY_CODE.get(str(body.get("code")))
    if special is not None:
        return special(message, **fields)
    cls = _BY_STATUS.get(status, ServerError if status >= 500 else EngineError)
    if cls is BusyError:
        wait = float(retry_after) if retry_after and retry_after.isdigit() else None
        return BusyError(message, retry_after=wait, **fields)
    return cls(message, **fields)
