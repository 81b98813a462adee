import pytest

from phantom.kernel.adapters import SchemeRegistry, normalise_scheme
from phantom.kernel.errors import ConfigError


@pytest.mark.parametrize(
    ("url", "scheme"),
    [
        ("postgresql+psycopg://h/db", "postgresql"),
        ("postgres://h/db", "postgresql"),
        ("sqlite:///x.db", "sqlite"),
        ("memory://", "memory"),
        ("REDIS://h", "redis"),
        ("local", "local"),
    ],
)
def test_schemes_are_normalised(url: str, scheme: str) -> None:
    assert normalise_scheme(url) == scheme


def test_open_builds_the_registered_adapter() -> None:
    registry: SchemeRegistry[str] = SchemeRegistry("thing")
    registry.register("memory", lambda url: f"built {url}")
    assert registry.open("memory://x") == "built memory://x"
    assert registry.schemes == ["memory"]


def test_an_unknown_scheme_names_the_known_ones() -> None:
    registry: SchemeRegistry[str] = SchemeRegistry("thing")
    registry.register("memory", str)
    registry.register("redis", str)
    with pytest.raises(
        ConfigError, match=r"unknown thing URL scheme 'kafka'.*memory://, redis://"
    ):
        registry.open("kafka://broker")
