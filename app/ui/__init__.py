"""Qt widgets of the desktop app (lands with the desktop issue)."""
