from pathlib import Path

import pytest
from pydantic import ValidationError

from phantom.kernel.settings import load_settings


def test_defaults_are_embedded(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.home == Path(".phantom")
    assert settings.bus_url == "memory://"
    assert settings.cache_url == "memory://"
    assert settings.database_url_for("system") == "sqlite:///.phantom/db/system.sqlite"


def test_environment_overrides_and_per_context_urls(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PHANTOM_DATABASE_URL", "postgresql://db/phantom")
    monkeypatch.setenv("PHANTOM_REGISTRY_DATABASE_URL", "postgresql://other/reg")
    monkeypatch.setenv("PHANTOM_BUS_URL", "nats://127.0.0.1:4222")
    settings = load_settings()
    assert settings.bus_url == "nats://127.0.0.1:4222"
    assert settings.database_url_for("registry") == "postgresql://other/reg"
    assert settings.database_url_for("training") == "postgresql://db/phantom"


def test_phantom_toml_is_read_below_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "phantom.toml").write_text('home = "/srv/phantom"\nport = 9000\n')
    monkeypatch.setenv("PHANTOM_PORT", "9100")
    settings = load_settings()
    assert settings.home == Path("/srv/phantom")
    assert settings.port == 9100


def test_invalid_values_are_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError):
        load_settings(port=70000)
    with pytest.raises(ValidationError, match="lower-case identifier"):
        load_settings(contexts=["../etc"])


def test_artifacts_default_to_an_absolute_file_url_under_home(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.artifacts_url is None
    assert settings.artifact_quota_bytes == 10 * 1024**3
    expected = (tmp_path / ".phantom" / "artifacts").as_uri()
    assert settings.artifacts_url_for_home() == expected
    assert load_settings(home=tmp_path / "h").artifacts_url_for_home() == (
        (tmp_path / "h" / "artifacts").as_uri()
    )


def test_artifacts_url_and_quota_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    url = "s3://phantom/artifacts?endpoint_url=http://127.0.0.1:9000"
    monkeypatch.setenv("PHANTOM_ARTIFACTS_URL", url)
    monkeypatch.setenv("PHANTOM_ARTIFACT_QUOTA_BYTES", "1048576")
    settings = load_settings()
    assert settings.artifacts_url_for_home() == url
    assert settings.artifact_quota_bytes == 1_048_576


def test_a_negative_artifact_quota_is_refused(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValidationError):
        load_settings(artifact_quota_bytes=-1)
