from cicd.cli import main

raise SystemExit(main())
