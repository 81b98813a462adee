"""Every public module declares ``__all__`` and every name in it exists."""

import importlib
import pkgutil

import pytest

import phantom

MODULES = sorted(
    info.name
    for info in pkgutil.walk_packages(phantom.__path__, "phantom.")
    if ".migrations" not in info.name
    and not info.name.rsplit(".", 1)[-1].startswith("_")
)


@pytest.mark.parametrize("name", MODULES)
def test_public_module_declares_what_it_exports(name: str) -> None:
    module = importlib.import_module(name)
    exported = getattr(module, "__all__", None)
    assert exported is not None, f"{name} has no __all__"
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.__all__ names missing {symbol!r}"
