"""Reserved for the memory work (see DESIGN.md)."""
