"""Fixtures of the end-to-end tier: settings in a temp home, apps, containers."""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog
from fastapi import FastAPI

from phantom.bootstrap import Container
from phantom.gateway import create_app
from phantom.kernel.settings import Settings
from tests.support import build_notes_container
from tests.support.notes import NOTES_POLICY


@pytest.fixture(autouse=True)
def isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No PHANTOM_* setting (or phantom.toml) of the developer leaks into a test."""
    for name in list(os.environ):
        if name.startswith("PHANTOM_") and not name.startswith("PHANTOM_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PHANTOM_CONFIG", str(tmp_path / "no-such-phantom.toml"))


@pytest.fixture(autouse=True)
def restored_logging() -> Iterator[None]:
    """Commands and tests configure logging; put it back as it was afterwards."""
    saved = structlog.get_config()
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
            handler.close()
    root.setLevel(level)
    structlog.configure(**saved)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings(home=home, relay_interval_s=0.02, log_json=True)


@pytest.fixture
def container(settings: Settings) -> Iterator[Container]:
    built = build_notes_container(settings)
    yield built
    built.close()  # idempotent: the app's lifespan usually closed it already


@pytest.fixture
def app(settings: Settings, container: Container) -> FastAPI:
    return create_app(settings, container=container, extra_policy=NOTES_POLICY)
