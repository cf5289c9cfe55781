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
from urllib.parse import urlsplit

from flask import Config
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from voluptuous import (
    ALLOW_EXTRA,
    All,
    Invalid,
    Match,
    MultipleInvalid,
    Range,
    Schema,
)
from voluptuous import Any as OneOf

from .errors import ConfigError

ENV_PREFIX = "MYTHING_"

DEFAULTS: dict[str, Any] = {
    "DATABASE_URI": "sqlite:///mything.db",
    "DATABASE_SCHEMA": None,
    "DATABASE_TIMEOUT": 10.0,
    "AUTO_UPGRADE": None,
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
    "METRICS_ENABLED": False,
    "METRICS_TOKEN": "",
    "REQUIRE_IF_MATCH": False,
    "CORS_ORIGINS": [],
    "TOKEN_DEFAULT_DAYS": 90,
    "TOKEN_MAX_DAYS": 365,
}

#: The type of the keys whose default (``None``) does not say it.
_KINDS: dict[str, type] = {"DATABASE_SCHEMA": str, "AUTO_UPGRADE": bool}

#: The drivers that mything installs, for the URI schemes that name none.
_DRIVERS = {
    "postgres": "postgresql+psycopg",
    "postgresql": "postgresql+psycopg",
    "mysql": "mysql+pymysql",
    "mariadb": "mariadb+pymysql",
    "sqlite": "sqlite",
}

#: The shortest METRICS_TOKEN accepted.
MIN_METRICS_TOKEN_LENGTH = 16

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def database_uri(value: str) -> str:
    """Check a database URI and name its driver explicitly.

    ``postgresql://`` (or ``postgres://``) means PostgreSQL through psycopg 3,
    and ``mysql://`` and ``mariadb://`` mean PyMySQL: the drivers mything
    installs.
    """
    try:
        url = make_url(value)
    except ArgumentError:
        raise Invalid(f"cannot parse {value!r} as a database URI") from None
    url = url.set(drivername=_DRIVERS.get(url.drivername, url.drivername))
    if url.drivername not in {*_DRIVERS.values(), "sqlite+pysqlite"}:
        raise Invalid(
            f"unknown database scheme {url.drivername!r}; use sqlite:///PATH, "
            "postgresql://HOST/DB, mysql://HOST/DB or mariadb://HOST/DB"
        )
    return url.render_as_string(hide_password=False)


def _timeout(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise Invalid("expected a number of seconds")
    if not 0 < value <= 3600:
        raise Invalid(f"must be more than 0 and at most 3600 seconds, not {value}")
    return float(value)


def metrics_token(value: str) -> str:
    """Check a scraper's token: none at all, or long enough not to be guessed."""
    if value and len(value) < MIN_METRICS_TOKEN_LENGTH:
        # The message must not repeat the token: it ends up in logs.
        raise Invalid(
            f"use at least {MIN_METRICS_TOKEN_LENGTH} characters, "
            "or leave it empty to serve metrics without a token"
        )
    return value


def cors_origins(value: str | list[str]) -> list[str]:
    """Check ``CORS_ORIGINS``: exact origins, or ``["*"]`` for any origin.

    A string is a comma-separated list (the form environment variables
    give). Each entry must be an origin as a browser writes it in the
    ``Origin`` header, because that header is compared with it exactly.
    """
    entries = value.split(",") if isinstance(value, str) else value
    if not isinstance(entries, list | tuple) or not all(
        isinstance(entry, str) for entry in entries
    ):
        raise Invalid("expected a list of origins, or a comma-separated string")
    origins = [entry.strip() for entry in entries if entry.strip()]
    if "*" in origins and len(origins) > 1:
        raise Invalid("'*' allows every origin and must be the only entry")
    for origin in origins:
        if origin != "*" and not _is_origin(origin):
            raise Invalid(
                f"{origin!r} is not an origin; write scheme://host[:port] as a "
                "browser sends it, in lowercase, without a path or trailing slash "
                "(like https://app.example.com)"
            )
    return origins


def _is_origin(text: str) -> bool:
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return False
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    return (
        default_port is not None
        and bool(parts.hostname)
        and port != default_port
        and f"{parts.scheme}://{parts.netloc}" == text
        and "@" not in parts.netloc
        and text == text.lower()
    )


def _positive_int() -> All:
    return All(int, Range(min=1))


CONFIG_SCHEMA = Schema(
    {
        "DATABASE_URI": All(str, database_uri),
        "DATABASE_SCHEMA": OneOf(
            None,
            Match(
                r"^[a-z_][a-z0-9_]{0,62}$",
                msg="expected a schema name of lowercase letters, digits and '_' "
                "(no quotes or spaces)",
            ),
        ),
        "DATABASE_TIMEOUT": _timeout,
        "AUTO_UPGRADE": OneOf(None, bool),
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
        "METRICS_ENABLED": bool,
        "METRICS_TOKEN": All(str, metrics_token),
        "REQUIRE_IF_MATCH": bool,
        "CORS_ORIGINS": cors_origins,
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
    backend = make_url(config["DATABASE_URI"]).get_backend_name()
    if config["DATABASE_SCHEMA"] is not None and backend != "postgresql":
        raise ConfigError(
            "invalid configuration value for DATABASE_SCHEMA: schemas are for "
            f"PostgreSQL only, and DATABASE_URI is a {backend} database (leave "
            "DATABASE_SCHEMA unset, or name another database in DATABASE_URI)"
        )
    if config["AUTO_UPGRADE"] is None:
        # One host owns a SQLite file; a shared server is upgraded on purpose.
        config["AUTO_UPGRADE"] = backend == "sqlite"
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
            values[key] = _parse(key, raw, _KINDS.get(key, type(default)))
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
    if kind is list:
        # Comma-separated; cors_origins checks the entries.
        return text
    if kind is int or kind is float:
        try:
            return kind(text)
        except ValueError:
            expected = "an integer" if kind is int else "a number"
            raise ConfigError(
                f"invalid configuration value for {key} (from {ENV_PREFIX}{key}): "
                f"expected {expected}, got {raw!r}"
            ) from None
    return raw
