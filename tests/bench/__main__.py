"""`python -m tests.bench [--quick] [--write | --no-write] [--only issue3 | cluster | executors]`.

All three parts by default: the single-process comparison of issue 3 (`bench_harness`), the
cluster of several runners on one PostgreSQL store (`bench_cluster`), then the executors
(`bench_executors`: thread, process and ray, and the thread executor before the executor
layer); `--only` runs one. Each writes its own section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import sys

from tests.bench import bench_cluster, bench_executors
from tests.bench.bench_harness import main

parser = argparse.ArgumentParser(add_help=False)
parser.add_argument("--only", choices=("issue3", "cluster", "executors"))
known, rest = parser.parse_known_args()
if {"-h", "--help"} & set(rest):
    print(__doc__)
codes = []
if known.only in (None, "issue3"):
    codes.append(main(rest))
if known.only in (None, "cluster"):
    codes.append(bench_cluster.main(rest))
if known.only in (None, "executors"):
    codes.append(bench_executors.main(rest))
sys.exit(max(codes))
