"""A training worker in a process of its own, for the SIGKILL test.

Usage: ``python -m tests.integration.training.worker_child HOME``: builds the
same deployment as ``tests.e2e.world.open_world(HOME, worker_lease_s=2)`` and
runs one job as ``phantom worker`` would (metric points handed to the server
through the spool); the test kills it with SIGKILL mid-job.
"""

from __future__ import annotations

import sys
from pathlib import Path

from phantom.bootstrap import build, training_worker
from tests.e2e.world import world_settings


def main() -> int:
    settings = world_settings(
        Path(sys.argv[1]), worker_lease_s=2.0, analytics_writer=False
    )
    container = build(settings)  # like `phantom worker`: it spools its metrics
    worker = training_worker(container)
    assert worker is not None
    worker.run_once()
    container.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
