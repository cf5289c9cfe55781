"""Configuration: read once, from four sources, and checked before use.

Sources, later wins:

1. :data:`DEFAULTS`;
2. the Python or TOML file named by the ``MYTHING_CONFIG`` environment variable;
3. ``MYTHING_<KEY>`` environment variables (``MYTHING_PAGE_SIZE=50``), parsed
   to the type of the key's default;
4. the dict passed to ``MyThing(config)`` or ``create_app(config)``.

:func:`load_config` merges them and validates the result, so a bad value
stops the app from being created, with a :class:`~mything.errors.ConfigError`
whose one-line message names the key and where the value came from, instead
of failing at the first request.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from typing import Any

from flask import Config
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from voluptuous import ALLOW_EXTRA, All, Invalid, MultipleInvalid, Range, Schema

from .errors import ConfigError

ENV_PREFIX = "MYTHING_"

DEFAULTS: dict[str, Any] = {
    "DATABASE_URI": "sqlite:///mything.db",
    "MAX_CONTENT_LENGTH": 1024 * 1024,
    "PAGE_SIZE": 20,
    "MAX_PAGE_SIZE": 100,
    "RATELIMIT": "600/minute",
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_ENABLED": True,
    "RATELIMIT_KEY_PREFIX": "mything",
    "TRUST_REMOTE_USER": False,
    "TRUSTED_PROXIES": 0,
    "DOCS_ENABLED": True,
    "TOKEN_DEFAULT_DAYS": 90,
    "TOKEN_MAX_DAYS": 365,
}

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def database_uri(value: str) -> str:
    """Check a database URI and name its driver explicitly.

    ``postgresql://`` and ``postgres://`` mean PostgreSQL through psycopg 3,
    the driver mything installs.
    """
    try:
        url = make_url(value)
    except ArgumentError:
        raise Invalid(f"cannot parse {value!r} as a database URI") from None
    if url.drivername in ("postgres", "postgresql"):
        url = url.set(drivername="postgresql+psycopg")
    if url.drivername not in ("sqlite", "sqlite+pysqlite", "postgresql+psycopg"):
        raise Invalid(
            f"unknown database scheme {url.drivername!r}; "
            "use sqlite:///PATH or postgresql+psycopg://HOST/DB"
        )
    return url.render_as_string(hide_password=False)


def _positive_int() -> All:
    return All(int, Range(min=1))


CONFIG_SCHEMA = Schema(
    {
        "DATABASE_URI": All(str, database_uri),
        "MAX_CONTENT_LENGTH": _positive_int(),
        "PAGE_SIZE": _positive_int(),
        "MAX_PAGE_SIZE": _positive_int(),
        "RATELIMIT": str,
        "RATELIMIT_STORAGE_URI": str,
        "RATELIMIT_ENABLED": bool,
        "RATELIMIT_KEY_PREFIX": str,
        "TRUST_REMOTE_USER": bool,
        "TRUSTED_PROXIES": All(int, Range(min=0, max=16)),
        "DOCS_ENABLED": bool,
        "TOKEN_DEFAULT_DAYS": _positive_int(),
        "TOKEN_MAX_DAYS": _positive_int(),
    },
    # Flask's own keys, and any a host adds for its own use, pass through.
    extra=ALLOW_EXTRA,
)


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge every configuration source and return the validated result."""
    config: dict[str, Any] = dict(DEFAULTS)
    origins = dict.fromkeys(config, "default")
    for source, values in (
        ("MYTHING_CONFIG file", _from_file(os.environ.get(f"{ENV_PREFIX}CONFIG"))),
        ("environment", _from_environ(os.environ)),
        ("config argument", dict(overrides or {})),
    ):
        config.update(values)
        origins.update(dict.fromkeys(values, source))
    try:
        config = CONFIG_SCHEMA(config)
    except MultipleInvalid as exc:
        error = exc.errors[0]
        key = str(error.path[0]) if error.path else "?"
        raise ConfigError(
            f"invalid configuration value for {key} "
            f"(from the {origins.get(key, 'config')}): {error.msg}"
        ) from None
    for key, maximum in (
        ("PAGE_SIZE", "MAX_PAGE_SIZE"),
        ("TOKEN_DEFAULT_DAYS", "TOKEN_MAX_DAYS"),
    ):
        if config[key] > config[maximum]:
            raise ConfigError(
                f"invalid configuration value for {key}: {config[key]} "
                f"is larger than {maximum} ({config[maximum]})"
            )
    return config


def _from_file(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    loaded = Config(os.getcwd())
    try:
        if path.endswith(".toml"):
            loaded.from_file(path, load=tomllib.load, text=False)
        else:
            loaded.from_pyfile(path)
    except OSError as exc:
        raise ConfigError(
            f"cannot read the file named by MYTHING_CONFIG ({path}): {exc.strerror}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"MYTHING_CONFIG file {path} is not valid TOML: {exc}"
        ) from None
    return dict(loaded)


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    values = {}
    for key, default in DEFAULTS.items():
        raw = environ.get(ENV_PREFIX + key)
        if raw is not None:
            values[key] = _parse(key, raw, type(default))
    return values


def _parse(key: str, raw: str, kind: type) -> Any:
    """Parse an environment string to the type of the key's default."""
    text = raw.strip()
    if kind is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ConfigError(
            f"invalid configuration value for {key} (from {ENV_PREFIX}{key}): "
            f"expected on/off, true/false or 1/0, got {raw!r}"
        )
    if kind is int:
        try:
            return int(text)
        except ValueError:
            raise ConfigError(
                f"invalid configuration value for {key} (from {ENV_PREFIX}{key}): "
                f"expected an integer, got {raw!r}"
            ) from None
    return raw
