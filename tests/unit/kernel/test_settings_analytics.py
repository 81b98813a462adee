"""The analytics store URL in settings: ``PHANTOM_ANALYTICS_URL`` or the home file."""

from pathlib import Path

import pytest

from phantom.kernel.analytics.duckdb import duckdb_path
from phantom.kernel.settings import load_settings


def test_the_default_is_an_absolute_duckdb_file_under_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.analytics_url is None
    url = settings.analytics_url_for_home()
    assert url == f"duckdb://{tmp_path.as_posix()}/.phantom/analytics.duckdb"
    assert Path(duckdb_path(url)) == tmp_path / ".phantom" / "analytics.duckdb"


def test_an_absolute_home_gives_a_three_slash_url(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(home=Path("/srv/phantom"))
    assert settings.analytics_url_for_home() == "duckdb:///srv/phantom/analytics.duckdb"


def test_the_environment_names_the_analytics_store(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PHANTOM_ANALYTICS_URL", "duckdb://:memory:")
    settings = load_settings()
    assert settings.analytics_url == "duckdb://:memory:"
    assert settings.analytics_url_for_home() == "duckdb://:memory:"
