from clearsight.cli import main

raise SystemExit(main())
