from engine.main import main

raise SystemExit(main())
