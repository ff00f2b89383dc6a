"""Tools: function calls in each model family's format, with the grammar that enforces them."""
