"""The HTTP surface: create_app(settings), thin routes, one error mapper, request guards."""
