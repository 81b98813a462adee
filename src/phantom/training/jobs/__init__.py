"""Training jobs: the spec, the search over allowed estimators, and the runner.

- :mod:`.spec` parses and checks a declarative spec (YAML or JSON);
- :mod:`.trainer` runs the search and refits the best model;
- :mod:`.executors` and :mod:`.ray_executor` decide where trials run;
- :mod:`.runner` is the subprocess a worker starts for one job.

Nothing is imported here, so reading a spec does not load scikit-learn or Optuna.
"""

__all__: list[str] = []
