"""Where the client finds its server and key, and the profile ``phantom login`` writes.

Each of the URL and the API key is taken from the first place that has it:

1. the argument (``Client(url=..., api_key=...)``);
2. the environment: ``PHANTOM_URL`` and ``PHANTOM_API_KEY``;
3. the profile file: ``$PHANTOM_CONFIG_DIR/profile.toml``, else
   ``~/.config/phantom/profile.toml``, with the keys ``url`` and ``api_key``.

The profile holds a secret, so it must be readable by its owner alone (mode
``0600``): a group- or world-readable profile is refused, never read.
"""

from __future__ import annotations

import json
import os
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

from phantom.sdk.errors import ConfigurationError

__all__ = [
    "API_KEY_ENV",
    "CONFIG_DIR_ENV",
    "URL_ENV",
    "Config",
    "profile_path",
    "read_profile",
    "resolve_config",
    "save_profile",
]

URL_ENV: Final = "PHANTOM_URL"
API_KEY_ENV: Final = "PHANTOM_API_KEY"
CONFIG_DIR_ENV: Final = "PHANTOM_CONFIG_DIR"
_PROFILE_NAME: Final = "profile.toml"
_HOW: Final = (
    "pass Client(url=..., api_key=...), set {env}, or run `phantom login` "
    "(it writes {path})"
)


@dataclass(frozen=True, slots=True)
class Config:
    """A resolved server URL (no trailing slash) and API key."""

    url: str
    api_key: str = field(repr=False)


def profile_path(environ: Mapping[str, str] | None = None) -> Path:
    """The profile file: ``$PHANTOM_CONFIG_DIR/profile.toml`` or the user default."""
    env = os.environ if environ is None else environ
    folder = env.get(CONFIG_DIR_ENV)
    base = Path(folder) if folder else Path.home() / ".config" / "phantom"
    return base / _PROFILE_NAME


def _check_private(path: Path, mode: int) -> None:
    if os.name == "posix" and mode & 0o077:
        msg = (
            f"{path} holds an API key but other users may read it "
            f"(mode {stat.S_IMODE(mode):04o}); run `chmod 600 {path}` "
            "or `phantom login` again"
        )
        raise ConfigurationError(msg)


def read_profile(path: Path) -> dict[str, str]:
    """The profile's ``url`` and ``api_key`` (those present); ``{}`` if no file.

    Raises:
        ConfigurationError: the file is readable by others, unreadable or not TOML.
    """
    try:
        with path.open("rb") as handle:
            _check_private(path, os.fstat(handle.fileno()).st_mode)
            document = tomllib.load(handle)
    except FileNotFoundError:
        return {}
    except OSError as exc:
        msg = f"cannot read the profile {path}: {exc.strerror}"
        raise ConfigurationError(msg) from None
    except tomllib.TOMLDecodeError as exc:
        msg = f"the profile {path} is not valid TOML ({exc}); run `phantom login`"
        raise ConfigurationError(msg) from None
    return {
        key: value
        for key in ("url", "api_key")
        if isinstance(value := document.get(key), str) and value
    }


def _clean_url(url: str, source: str) -> str:
    cleaned = url.strip().rstrip("/")
    if not cleaned.startswith(("http://", "https://")):
        msg = f"the server URL from {source} must start with http:// or https://"
        raise ConfigurationError(msg)
    return cleaned


def resolve_config(
    url: str | None = None,
    api_key: str | None = None,
    *,
    environ: Mapping[str, str] | None = None,
) -> Config:
    """The URL and key from the arguments, else the environment, else the profile.

    Raises:
        ConfigurationError: one is missing everywhere (the message says how to set
            it), the URL is not http(s), or the profile is unsafe or unreadable.
    """
    env = os.environ if environ is None else environ
    sources = {"url": "the argument", "api_key": "the argument"}
    found = {"url": url, "api_key": api_key}
    for name, variable in (("url", URL_ENV), ("api_key", API_KEY_ENV)):
        if not found[name] and env.get(variable):
            found[name], sources[name] = env[variable], variable
    path = profile_path(env)
    if not (found["url"] and found["api_key"]):
        for name, value in read_profile(path).items():
            if not found[name]:
                found[name], sources[name] = value, str(path)
    missing = [
        (what, variable)
        for what, variable in (("url", URL_ENV), ("api_key", API_KEY_ENV))
        if not found[what]
    ]
    if missing:
        names = " and ".join(
            "server URL" if w == "url" else "API key" for w, _ in missing
        )
        env_names = " and ".join(v for _, v in missing)
        how = _HOW.format(env=env_names, path=path)
        msg = f"No Phantom {names} configured: {how}"
        raise ConfigurationError(msg)
    return Config(
        url=_clean_url(str(found["url"]), sources["url"]),
        api_key=str(found["api_key"]).strip(),
    )


def _toml_string(value: str) -> str:
    # JSON's escapes (\", \\, \n, \uXXXX) are all valid in a TOML basic string.
    return json.dumps(value, ensure_ascii=True)


def save_profile(url: str, api_key: str, *, path: Path | None = None) -> Path:
    """Write the profile (mode ``0600``, its folder ``0700``) atomically.

    Returns:
        The file written.

    Raises:
        ConfigurationError: the URL is not http(s) or the key is empty.
    """
    if not api_key.strip():
        msg = "the API key is empty"
        raise ConfigurationError(msg)
    target = path or profile_path()
    text = (
        "# Written by `phantom login`: this file holds a secret (mode 0600).\n"
        f"url = {_toml_string(_clean_url(url, 'the argument'))}\n"
        f"api_key = {_toml_string(api_key.strip())}\n"
    )
    target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), 0o600)  # whatever the umask or an old file
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        temporary.replace(target)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
    return target
