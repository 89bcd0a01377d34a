"""`python -m tests.bench [--quick] [--write | --no-write]`: see `bench_harness`."""

from __future__ import annotations

import sys

from tests.bench.bench_harness import main

sys.exit(main())
