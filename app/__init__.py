"""Hearth's desktop program and terminal commands; talks to the engine over HTTP only."""
