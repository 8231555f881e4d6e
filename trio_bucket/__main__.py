"""``python -m trio_bucket``: the ``trio-bucket`` command line."""

from ._runner.cli import main

raise SystemExit(main())
