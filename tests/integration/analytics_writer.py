"""A process that appends metric batches to a DuckDB analytics file until killed.

Usage::

    python -m tests.integration.analytics_writer PATH BATCH_SIZE

After each ``append_metrics`` returns it prints ``acked N`` (N = points acknowledged
so far) and flushes, so the parent knows exactly what was acknowledged when it sends
SIGKILL. Batch ``b`` holds steps ``b * BATCH_SIZE ... (b + 1) * BATCH_SIZE - 1``.
"""

from __future__ import annotations

import sys

from phantom.kernel.analytics import MetricPoint, open_analytics


def main(path: str, size: int) -> None:
    store = open_analytics(f"duckdb://{path}")
    acked = 0
    while True:
        batch = [
            MetricPoint("t1", "r1", "loss", step, step, step * 0.5)
            for step in range(acked, acked + size)
        ]
        acked += store.append_metrics(batch)
        print(f"acked {acked}", flush=True)  # noqa: T201 - the parent reads it


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]))
