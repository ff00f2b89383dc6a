"""On-device memory: the SQLite database (conversations and memories land here next)."""
