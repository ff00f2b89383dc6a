"""The serving core: a scheduler per loaded model on llama.cpp's batch API (slots, continuous
batching, chunked prompts, prefix reuse, prompt-lookup drafts). Services call it; it calls the
batch backend."""
