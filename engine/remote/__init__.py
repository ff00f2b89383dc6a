"""Reserved for the remote work (see DESIGN.md)."""
