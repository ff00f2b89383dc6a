"""The offline promise: libraries must not phone home. Set before they are imported."""

from __future__ import annotations

import os

# Hugging Face hub look-ups and telemetry, tokenizers' and transformers' online checks, and the
# common do-not-track switches that analytics libraries honour.
OFFLINE_ENV = {
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "HF_HUB_DISABLE_IMPLICIT_TOKEN": "1",
    "HF_HUB_DISABLE_PROGRESS_BARS": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
    "DO_NOT_TRACK": "1",
    "ANONYMIZED_TELEMETRY": "False",
}


def apply_offline_environment() -> None:
    """Switch off network look-ups in libraries (a user's explicit setting wins)."""
    for key, value in OFFLINE_ENV.items():
        os.environ.setdefault(key, value)
