"""UsageError: a mistake on the command line, printed as one line with exit status 2.

Every command raises it for a mistake the user can fix (a bad option, an unknown zone, a file
that is missing or holds no programs); `main` prints its message on stderr, with no traceback.
"""

from __future__ import annotations

__all__ = ["USAGE_ERROR", "UsageError"]

#: The exit status of a usage error or an invalid argument (argparse's own convention).
USAGE_ERROR = 2


class UsageError(Exception):
    """A mistake on the command line: printed as one line, exit status 2."""
