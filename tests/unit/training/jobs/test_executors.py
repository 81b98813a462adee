"""Choosing where trials run."""

from __future__ import annotations

import pytest

from phantom.kernel.errors import ConfigError
from phantom.training.jobs.executors import LocalExecutor, TrialExecutor, executor_for
from phantom.training.jobs.ray_executor import RayExecutor


def test_local_executor_maps_in_item_order():
    executor: TrialExecutor = LocalExecutor()

    assert executor.map(lambda shared, item: shared + item, 10, [3, 1, 2]) == [
        13,
        11,
        12,
    ]
    executor.close()


def test_local_name_gives_the_local_executor():
    assert isinstance(executor_for(" local "), LocalExecutor)


def test_ray_names_give_a_ray_executor_without_starting_ray():
    local_ray = executor_for("ray")
    cluster = executor_for("ray://head:10001")

    assert isinstance(local_ray, RayExecutor)
    assert local_ray.address is None
    assert isinstance(cluster, RayExecutor)
    assert cluster.address == "ray://head:10001"
    cluster.close()  # started nothing, so stops nothing


@pytest.mark.parametrize("name", ["spark", "", "ray://", "RAY", "dask://x"])
def test_unknown_executor_is_a_config_error_listing_the_known_ones(name: str):
    with pytest.raises(ConfigError, match="known: local, ray, ray://host:port"):
        executor_for(name)
