"""`python -m actors ...`: the same as the `actors` command (`run`, `repl`, `next`).

It needs no console script, so it works in a virtualenv that was not reinstalled.
"""

from __future__ import annotations

from actors.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
