"""The training context: datasets, experiments, runs and their metrics, jobs."""

__all__: list[str] = []
