"""Other APIs' shapes translated to and from the engine's own chat requests and replies."""
