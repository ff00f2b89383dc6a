"""Reserved for the usage work (see DESIGN.md)."""
