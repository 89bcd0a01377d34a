"""`python -m tests.bench [--quick] [--write | --no-write] [--only issue3 | --only cluster]`.

Both parts by default: the single-process comparison of issue 3 (`bench_harness`), then the
cluster of several runners on one PostgreSQL store (`bench_cluster`); `--only` runs one.
Each writes its own section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys

from tests.bench import bench_cluster
from tests.bench.bench_harness import main

parser = argparse.ArgumentParser(add_help=False)
parser.add_argument("--only", choices=("issue3", "cluster"))
known, rest = parser.parse_known_args()
if {"-h", "--help"} & set(rest):
    print(__doc__)
codes = []
if known.only != "cluster":
    codes.append(main(rest))
if known.only != "issue3":
    codes.append(bench_cluster.main(rest))
sys.exit(max(codes))
