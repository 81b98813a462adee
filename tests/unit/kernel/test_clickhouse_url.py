"""The ClickHouse analytics URLs, and query parameters written as text for chDB."""

from __future__ import annotations

import pytest

from phantom.kernel.analytics.clickhouse_schema import retention_ttl
from phantom.kernel.analytics.clickhouse_session import bind_text
from phantom.kernel.analytics.clickhouse_url import (
    DEFAULT_RETENTION_DAYS,
    ClickhouseTarget,
    parse_clickhouse_url,
)
from phantom.kernel.errors import ConfigError


def test_a_server_url_defaults_port_user_database_and_retention() -> None:
    assert parse_clickhouse_url("clickhouse://ch.internal") == ClickhouseTarget(
        transport="http",
        host="ch.internal",
        port=8123,
        username="default",
        password="",
        database="phantom",
        path="",
        retention_days=DEFAULT_RETENTION_DAYS,
    )


@pytest.mark.parametrize("scheme", ["clickhouses", "clickhouse+https", "ClickHouses"])
def test_a_tls_url_uses_https_and_its_default_port(scheme: str) -> None:
    target = parse_clickhouse_url(f"{scheme}://u%40x:p%3Ass@ch.example.com/db_1")
    assert (target.transport, target.port) == ("https", 8443)
    assert (target.username, target.password) == ("u@x", "p:ss")
    assert target.database == "db_1"


def test_a_server_url_takes_port_database_and_retention() -> None:
    target = parse_clickhouse_url(
        "clickhouse+http://phantom:secret@10.0.0.5:9000/analytics?retention_days=90"
    )
    assert (target.transport, target.host, target.port) == ("http", "10.0.0.5", 9000)
    assert (target.database, target.retention_days) == ("analytics", 90)
    assert target.display == "clickhouse://10.0.0.5:9000/analytics"
    ipv6 = parse_clickhouse_url("clickhouses://[::1]/db")
    assert (ipv6.host, ipv6.display) == ("::1", "clickhouses://[::1]:8443/db")


def test_chdb_memory_gets_a_private_database_and_a_path_the_default_one() -> None:
    memory = parse_clickhouse_url("chdb://:memory:")
    assert (memory.transport, memory.path, memory.database) == (
        "chdb",
        ":memory:",
        None,
    )
    on_disk = parse_clickhouse_url("chdb:///srv/phantom/ch?retention_days=7")
    assert (on_disk.path, on_disk.database, on_disk.retention_days) == (
        "/srv/phantom/ch",
        "phantom",
        7,
    )
    named = parse_clickhouse_url("chdb://.phantom/ch?database=tracking")
    assert (named.path, named.database) == (".phantom/ch", "tracking")
    assert named.display == "chdb://.phantom/ch"


def test_every_problem_of_a_url_is_listed_at_once() -> None:
    with pytest.raises(ConfigError) as caught:
        parse_clickhouse_url(
            "clickhouse://u:hunter2@:99999/9lives?retention_days=0&colour=blue"
        )
    message = str(caught.value)
    for problem in (
        "names no host",
        "port must be a number",
        "database name",
        "retention_days must be a whole number of days from 1 to 36500",
        "unknown parameter 'colour' (known: retention_days)",
    ):
        assert problem in message, message
    assert "hunter2" not in message


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("chdb://", "chdb://:memory:"),
        ("chdb://:memory:?database=a-b", "database name"),
        ("chdb://x?retention_days=1&retention_days=2", "given twice"),
        ("chdb://x?retention_days=" + "9" * 5000, "retention_days"),
        ("chdb://x?retention_days=36501", "retention_days"),
        ("chdb://x?user=me", "unknown parameter 'user' (known: database, "),
        ("clickhouse://h/db#frag", "#fragment"),
        ("clickhouse://[::1/db", "cannot be parsed"),
    ],
)
def test_a_malformed_url_is_a_config_error_saying_what_is_wrong(
    url: str, problem: str
) -> None:
    with pytest.raises(ConfigError, match="invalid analytics store URL") as caught:
        parse_clickhouse_url(url)
    assert problem in str(caught.value)


@pytest.mark.parametrize(
    "url", ["duckdb://:memory:", "clickhouse:/h/db", "http://h:8123/db", "chdb"]
)
def test_another_scheme_is_a_config_error_listing_the_clickhouse_ones(
    url: str,
) -> None:
    with pytest.raises(ConfigError, match=r"clickhouse://, .*chdb://"):
        parse_clickhouse_url(url)


def test_the_ttl_follows_the_retention() -> None:
    assert retention_ttl("predictions", 30) == "logged_at + INTERVAL 30 DAY"
    assert retention_ttl("predictions_hourly", 30) == "hour + INTERVAL 30 DAY"


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (None, "\\N"),
        (-(2**63), "-9223372036854775808"),
        ("plain", "plain"),
        ("it's a\\b\tc\nd\re", "it\\'s a\\\\b\\tc\\nd\\re"),
        (["a", "b'c", "d\\"], "['a','b\\'c','d\\\\']"),
        ([], "[]"),
    ],
)
def test_query_parameters_are_written_in_clickhouse_escaped_text(
    value: object, text: str
) -> None:
    assert bind_text(value) == text  # type: ignore[arg-type]


def test_a_bool_is_not_a_query_parameter() -> None:
    with pytest.raises(TypeError):
        bind_text(True)
