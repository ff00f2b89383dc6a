"""Remote OpenAI-compatible providers: their registry, the HTTP client with retries, routing."""
