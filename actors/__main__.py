"""`python -m actors ...`: the same as the `actors` command."""

from __future__ import annotations

from actors.cli import main

raise SystemExit(main())
