"""Knowledge: documents read, chunked, embedded and searched (vector stores)."""
