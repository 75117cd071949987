from shellenv.cli import main

raise SystemExit(main())
