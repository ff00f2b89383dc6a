"""The packaged `hearth-engine` program."""

from engine.main import main

raise SystemExit(main())
