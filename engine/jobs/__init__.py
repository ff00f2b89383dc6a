"""Background jobs: stored in SQLite, run one at a time, with progress and cancellation."""
