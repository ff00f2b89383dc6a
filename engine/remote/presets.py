"""Starting points for common OpenAI-compatible providers.

Prices change often and differ by model, so presets carry none: set yours with
`hearth providers add NAME --preset P --price-in X --price-out Y` (per million tokens) and the
usage report shows costs; without prices it shows tokens and no cost.
"""

from __future__ import annotations

PRESETS: dict[str, dict[str, object]] = {
    "openai": {"base_url": "https://api.openai.com/v1", "models": ["gpt-4o-mini", "gpt-4o"]},
    "deepseek": {"base_url": "https://api.deepseek.com/v1", "models": ["deepseek-chat"]},
    "qwen": {
        "base_url": "https://dashscope.aliyuncs.com/compatible-mode/v1",
        "models": ["qwen-plus", "qwen-turbo"],
        "currency": "CNY",
    },
    "moonshot": {
        "base_url": "https://api.moonshot.cn/v1",
        "models": ["moonshot-v1-8k"],
        "currency": "CNY",
    },
    "groq": {"base_url": "https://api.groq.com/openai/v1", "models": ["llama-3.1-8b-instant"]},
    "openrouter": {"base_url": "https://openrouter.ai/api/v1", "models": ["openrouter/auto"]},
    # Your own vLLM or llama-server: how a user who outgrows one machine scales out.
    "self-hosted": {"base_url": "http://127.0.0.1:8000/v1", "models": []},
}
