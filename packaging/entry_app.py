"""The packaged `hearth` program: the desktop app and the CLI."""

from app.cli import main

raise SystemExit(main())
