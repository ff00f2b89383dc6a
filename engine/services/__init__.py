"""Engine services: the work behind the routes (generation, scheduling, ...)."""
