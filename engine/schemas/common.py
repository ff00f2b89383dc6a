"""What every area shares: the local API's environment names, usage counts, who served a
reply, errors."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

DEFAULT_PORT = 8931

TOKEN_ENV = "HEARTH_API_TOKEN"  # noqa: S105 - the variable's name, not a secret

URL_ENV = "HEARTH_URL"


class _Open(BaseModel):
    """Accepts fields it does not know, as OpenAI clients send many."""

    model_config = ConfigDict(extra="allow")


def _absent_if_none(value: object) -> bool:
    return value is None


class PromptTokensDetails(BaseModel):
    cached_tokens: int = 0  # read from the cache (a conversation's earlier turns), not evaluated


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    prompt_tokens_details: PromptTokensDetails | None = Field(
        default=None, exclude_if=_absent_if_none
    )


class ServedBy(BaseModel):
    """Hearth's account of who served a reply, why, and what it cost."""

    provider: str  # "local", "cache" or a remote provider's name
    model: str
    fallback_reason: str | None = None
    redactions: dict[str, int] = Field(default_factory=dict)
    cached: bool = False
    cost: float | None = None
    currency: str | None = None


class ErrorBody(BaseModel):
    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
