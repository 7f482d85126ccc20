from ccgraph.cli import main

raise SystemExit(main())
