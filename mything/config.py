"""Settings: declared once, read from four sources, checked before use.

Every setting is one attribute of :class:`Settings`, declared with
:func:`setting`: its type, default, description and check are written there
and nowhere else. The key is the attribute's name in capitals
(``page_size`` is ``PAGE_SIZE``); the defaults, the environment variables,
the checks and the table in the README all come from that declaration.

Sources, later wins:

1. the defaults;
2. the Python or TOML file named by the ``MYTHING_CONFIG`` environment variable;
3. ``MYTHING_<KEY>`` environment variables (``MYTHING_PAGE_SIZE=50``), parsed
   to the setting's type;
4. the dict passed to ``MyThing(config)`` or ``create_app(config)``.

:meth:`CheckedConfig.load` merges them when the app is created. A bad value,
a key that is neither mything's nor Flask's, or a ``MYTHING_*`` variable
that names no setting stops the app from being created, with a
:class:`~mything.errors.ConfigError` whose one-line message names the key,
where it came from and, for a misspelt name, the nearest known one::

    unknown environment variable MYTHING_RATELIMT; did you mean MYTHING_RATELIMIT?

Requests read the checked values, typed, through :func:`settings`::

    size = limit or settings().page_size

A host may still change ``app.config`` after creation. A change to a
setting that requests read is checked like any other source and takes
effect at the next request; a setting that built something at creation (the
database, the rate limiter) is read once, and changing it is refused. Either
way the bad value fails at the line that set it, never in a request.
"""

from __future__ import annotations

import dataclasses
import difflib
import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import UnionType
from typing import Any, get_args, get_origin, get_type_hints
from urllib.parse import urlsplit

from flask import Config, Flask, current_app
from limits import parse_many
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError
from voluptuous import Invalid, Match, Range

from .errors import ConfigError

ENV_PREFIX = "MYTHING_"

#: The environment variable that names a configuration file.
FILE_VARIABLE = f"{ENV_PREFIX}CONFIG"

#: Flask's own settings, which a config dict or file may set as well.
FLASK_KEYS = frozenset(Flask.default_config)

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


def rate_limit(value: str) -> str:
    """Check ``RATELIMIT``: one positive limit that the ``limits`` library reads."""
    try:
        items = parse_many(value)
    except ValueError:
        items = []
    if len(items) != 1 or items[0].amount < 1:
        raise Invalid(
            f"cannot use {value!r} as a rate limit (write one positive limit, "
            "like '600/minute' or '10 per second')"
        )
    return value


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


#: A host name as Werkzeug reads one in a ``Host`` header, or a suffix of one.
_HOST_NAME = re.compile(r"\.?[a-z0-9.-]+|\[[a-f0-9]*:[a-f0-9.:]+\]", re.IGNORECASE)


def trusted_hosts(value: str | list[str]) -> list[str] | None:
    """Check ``TRUSTED_HOSTS``: host names, or none at all to allow any ``Host``.

    A string is a comma-separated list (the form environment variables
    give). Flask hands the list to Werkzeug, which compares a request's
    host with each entry exactly, port left out; an entry that starts with
    a dot also allows its subdomains.
    """
    entries = value.split(",") if isinstance(value, str) else value
    if not isinstance(entries, list | tuple) or not all(
        isinstance(entry, str) for entry in entries
    ):
        raise Invalid("expected a list of host names, or a comma-separated string")
    hosts = [entry.strip() for entry in entries if entry.strip()]
    for host in hosts:
        if not _HOST_NAME.fullmatch(host):
            raise Invalid(
                f"{host!r} is not a host name; write it as a client sends it in "
                "Host, without a scheme, port or path (like api.example.com, "
                ".example.com for its subdomains too, or [::1])"
            )
    # An empty list would still make Werkzeug check the Host's characters
    # on some releases; None is Flask's "no check".
    return hosts or None


#: The most attempts ``WEBHOOK_RETRY_SCHEDULE`` may list.
MAX_WEBHOOK_ATTEMPTS = 50


def retry_schedule(value: str | list[float]) -> list[float]:
    """Check ``WEBHOOK_RETRY_SCHEDULE``: 1 to 50 delays in seconds, none negative.

    A string is a comma-separated list (the form environment variables give).
    """
    entries = value.split(",") if isinstance(value, str) else value
    if not isinstance(entries, list | tuple):
        raise Invalid("expected a list of seconds, or a comma-separated string")
    try:
        delays = [float(entry) for entry in entries]
    except (TypeError, ValueError):
        raise Invalid("expected numbers of seconds, like 0, 5, 300") from None
    if not 1 <= len(delays) <= MAX_WEBHOOK_ATTEMPTS:
        raise Invalid(f"list 1 to {MAX_WEBHOOK_ATTEMPTS} delays, one per attempt")
    if any(not 0 <= delay <= 30 * 86400 for delay in delays):
        raise Invalid("each delay must be 0 to 2592000 seconds (30 days)")
    return delays


def text_line(value: str) -> str:
    """Check a short name for people: one line of at most 100 characters."""
    if len(value) > 100 or not value.isprintable():
        raise Invalid("expected one line of printable text, at most 100 characters")
    return value


#: The ``X-Forwarded-*`` headers that ``TRUSTED_PROXY_HEADERS`` may name.
PROXY_HEADERS = ("for", "proto", "host", "prefix")


def proxy_headers(value: str | list[str]) -> list[str]:
    """Check ``TRUSTED_PROXY_HEADERS``: which ``X-Forwarded-*`` headers to trust.

    A string is a comma-separated list (the form environment variables give).
    """
    entries = value.split(",") if isinstance(value, str) else value
    if not isinstance(entries, list | tuple) or not all(
        isinstance(entry, str) for entry in entries
    ):
        raise Invalid("expected a list of header names, or a comma-separated string")
    names = [entry.strip().lower() for entry in entries if entry.strip()]
    for name in names:
        if name not in PROXY_HEADERS:
            raise Invalid(
                f"{name!r} is not one of {', '.join(PROXY_HEADERS)} "
                "(the X-Forwarded-* headers a proxy may set)"
            )
    return names


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


_positive = Range(min=1, msg="must be 1 or more")


def setting(
    default: Any,
    description: str,
    *,
    check: Callable[[Any], Any] | None = None,
    read_once: bool = False,
    secret: bool = False,
) -> Any:
    """Declare one attribute of :class:`Settings`.

    ``check`` refines the attribute's type (which is checked first) and may
    return the value cleaned. ``read_once`` marks a setting that builds
    something when the app is created, so that changing it later is refused
    instead of silently doing nothing. A ``secret`` is left out of the
    settings' ``repr``, which may end up in a log.
    """
    return dataclasses.field(
        repr=not secret,
        metadata={
            "default": default,
            "description": description,
            "check": check,
            "read_once": read_once,
        },
    )


@dataclass(frozen=True)
class Settings:
    """mything's settings for one app, checked; read them with :func:`settings`."""

    database_uri: str = setting(
        "sqlite:///mything.db",
        "SQLite file (relative to the working directory), `postgresql://...` "
        "(psycopg 3) or `mysql://...` / `mariadb://...` (PyMySQL)",
        check=database_uri,
        read_once=True,
        # It may hold the database's password.
        secret=True,
    )
    database_schema: str | None = setting(
        None,
        "PostgreSQL only: the schema that holds mything's tables, created if missing",
        check=Match(
            r"^[a-z_][a-z0-9_]{0,62}$",
            msg="expected a schema name of lowercase letters, digits and '_' "
            "(no quotes or spaces)",
        ),
        read_once=True,
    )
    database_timeout: float = setting(
        10.0,
        "seconds any connection attempt or statement may take before the "
        "client gets a 503",
        check=Range(
            min=0,
            max=3600,
            min_included=False,
            msg="must be more than 0 and at most 3600 seconds",
        ),
        read_once=True,
    )
    auto_upgrade: bool | None = setting(
        None,
        "upgrade a database that is behind on first use (none: on for SQLite, "
        "off otherwise); when off, starting on one fails, naming "
        "`mything db upgrade` (an empty database is always set up)",
        read_once=True,
    )
    max_content_length: int = setting(
        1024 * 1024,
        "largest request body in bytes; larger is a 413",
        check=_positive,
    )
    page_size: int = setting(
        20, "items per page when a request gives no `limit`", check=_positive
    )
    max_page_size: int = setting(
        100, "largest `limit` accepted; larger is a 400", check=_positive
    )
    max_page_bytes: int = setting(
        1024 * 1024,
        "largest JSON body of a page in bytes: a page ends early rather than "
        "pass it (an item larger on its own comes alone)",
        check=_positive,
    )
    ratelimit: str = setting(
        "600/minute",
        "requests per caller (user, or address when anonymous)",
        check=rate_limit,
        read_once=True,
    )
    ratelimit_storage_uri: str = setting(
        "memory://",
        "where counts live; `redis://host:6379` to share them between workers "
        "and hosts",
        read_once=True,
    )
    ratelimit_enabled: bool = setting(True, "rate limiting at all", read_once=True)
    ratelimit_key_prefix: str | None = setting(
        None,
        "the start of every Redis key (none: `mything:` and an id kept in the "
        "database, so that instances share counts only when they share a "
        "database); instances given the same prefix share counts",
        read_once=True,
    )
    trust_remote_user: bool = setting(
        False,
        "trust the WSGI `REMOTE_USER` set by a host that authenticated the user",
    )
    trusted_proxies: int = setting(
        0,
        "how many proxies' `X-Forwarded-*` headers to trust (Werkzeug's `ProxyFix`)",
        check=Range(min=0, max=16),
        read_once=True,
    )
    trusted_proxy_headers: list[str] = setting(
        ["for"],
        "which of those headers to trust: any of `for`, `proto`, `host`, "
        "`prefix` (comma-separated in `MYTHING_TRUSTED_PROXY_HEADERS`); trust "
        "only what your proxy sets",
        check=proxy_headers,
        read_once=True,
    )
    trusted_hosts: list[str] | None = setting(
        None,
        "the host names a request's `Host` may name (none: any), checked by "
        "Flask and Werkzeug; another is a 400. Comma-separated in "
        "`MYTHING_TRUSTED_HOSTS`; `.example.com` also allows its subdomains",
        check=trusted_hosts,
    )
    instance_name: str = setting(
        "",
        "the name of this instance in access records and metrics (empty: the "
        "prefix it is mounted under, or `/`)",
        check=text_line,
        read_once=True,
    )
    docs_enabled: bool = setting(
        True, "serve the `/docs` page (off: its URLs answer 404)", read_once=True
    )
    metrics_enabled: bool = setting(
        False,
        "serve Prometheus metrics at `/metrics` (needs "
        "`pip install 'mything[metrics]'`)",
        read_once=True,
    )
    metrics_token: str = setting(
        "",
        "when set (16 characters or more), a scrape must send "
        "`Authorization: Bearer <token>`",
        check=metrics_token,
        secret=True,
    )
    require_if_match: bool = setting(
        False, "refuse a `PATCH` or `DELETE` of a note without `If-Match` (428)"
    )
    cors_origins: list[str] = setting(
        [],
        "origins whose browser scripts may call mything (empty: no CORS): exact "
        "origins like `https://app.example.com` (comma-separated in "
        "`MYTHING_CORS_ORIGINS`), or `*` for any",
        check=cors_origins,
        read_once=True,
    )
    token_default_days: int = setting(
        90, "how long a token lives when its maker does not say", check=_positive
    )
    token_max_days: int = setting(
        365,
        "the longest `expires_in_days` accepted; longer is a 400",
        check=_positive,
    )
    max_tokens_per_user: int = setting(
        100,
        "active tokens one user may hold; one more is a 409 `quota_exceeded`",
        check=_positive,
    )
    max_organizations_per_user: int = setting(
        100,
        "organizations one user may belong to, created or joined; one more is "
        "a 409 `quota_exceeded`",
        check=_positive,
    )
    invitation_days: int = setting(
        7,
        "how long an invitation to an organization waits for an answer (1 to 365)",
        check=Range(min=1, max=365, msg="must be 1 to 365 days"),
    )
    direct_membership: bool = setting(
        False,
        "`POST /orgs/<slug>/members` adds the member at once (201) instead of "
        "inviting them (202): for hosts whose administrators manage membership",
    )
    events_retention_days: int = setting(
        180,
        "how long the audit log keeps an event: `mything events purge` removes "
        "older ones",
        check=_positive,
    )
    webhook_timeout: float = setting(
        15.0,
        "seconds one webhook delivery attempt may take, from resolving the "
        "host to the last byte read",
        check=Range(
            min=0,
            max=600,
            min_included=False,
            msg="must be more than 0 and at most 600 seconds",
        ),
    )
    webhook_lease_seconds: float = setting(
        60.0,
        "seconds a delivery worker holds a delivery it is attempting; another "
        "worker retries it after that (must exceed `WEBHOOK_TIMEOUT`)",
        check=Range(
            min=0, min_included=False, max=86400, msg="must be more than 0 seconds"
        ),
    )
    webhook_retry_schedule: list[float] = setting(
        [0, 5, 300, 1800, 7200, 18000, 36000, 36000],
        "seconds to wait before each attempt of a webhook delivery, the first "
        "included (comma-separated in `MYTHING_WEBHOOK_RETRY_SCHEDULE`): "
        "8 attempts over about 27 hours",
        check=retry_schedule,
    )
    webhook_disable_after_days: float = setting(
        5.0,
        "days an endpoint may fail without a success before it is disabled",
        check=Range(min=0, min_included=False, msg="must be more than 0 days"),
    )
    webhook_allow_private: bool = setting(
        False,
        "let webhooks reach loopback, private, link-local and other non-public "
        "addresses (for intranets and tests: it opens the internal network to "
        "whoever may create a webhook)",
    )
    webhook_allow_http: bool = setting(
        False, "accept `http://` webhook URLs, which are sent unencrypted"
    )


def _kind(hint: Any) -> type:
    """Return the type a setting's values have: ``str`` for ``str | None``."""
    if isinstance(hint, UnionType):
        (hint,) = set(get_args(hint)) - {type(None)}
    return get_origin(hint) or hint


#: Each setting's declaration, by key.
FIELDS: dict[str, dataclasses.Field] = {
    field.name.upper(): field for field in dataclasses.fields(Settings)
}

#: Each setting's default, by key.
DEFAULTS: dict[str, Any] = {
    key: field.metadata["default"] for key, field in FIELDS.items()
}

#: Each setting's type, by key, from its annotation.
_KINDS = {
    key: _kind(hint)
    for key, hint in zip(FIELDS, get_type_hints(Settings).values(), strict=True)
}
#: The settings that may be None (``X | None``, with None as their default).
_OPTIONAL = {key for key, field in FIELDS.items() if field.metadata["default"] is None}
_KIND_NAMES = {
    bool: "on or off (true or false)",
    int: "an integer",
    float: "a number",
    str: "a string",
    list: "a list",
}


def check_value(key: str, value: Any) -> Any:
    """Check one setting's value and return it cleaned; raise ``Invalid`` if bad."""
    kind = _KINDS[key]
    if value is None and key in _OPTIONAL:
        return None
    # bool is a subclass of int, but True is not a page size.
    is_bool = isinstance(value, bool)
    if kind is float and isinstance(value, int) and not is_bool:
        value = float(value)
    wrong_kind = not isinstance(value, kind) or (is_bool and kind is not bool)
    # A list may come as a comma-separated string: its check reads both.
    if wrong_kind and kind is not list:
        # The type only, not the value: it may be a secret.
        raise Invalid(f"expected {_KIND_NAMES[kind]}, got {type(value).__name__}")
    check = FIELDS[key].metadata["check"]
    return value if check is None else check(value)


def _check_together(settings: Settings) -> None:
    """Refuse settings that are fine one by one but not together."""
    backend = make_url(settings.database_uri).get_backend_name()
    if settings.database_schema is not None and backend != "postgresql":
        raise ConfigError(
            "invalid configuration value for DATABASE_SCHEMA: schemas are for "
            f"PostgreSQL only, and DATABASE_URI is a {backend} database (leave "
            "DATABASE_SCHEMA unset, or name another database in DATABASE_URI)"
        )
    for key, maximum in (
        ("PAGE_SIZE", "MAX_PAGE_SIZE"),
        ("TOKEN_DEFAULT_DAYS", "TOKEN_MAX_DAYS"),
    ):
        value = getattr(settings, key.lower())
        largest = getattr(settings, maximum.lower())
        if value > largest:
            raise ConfigError(
                f"invalid configuration value for {key}: {value} "
                f"is larger than {maximum} ({largest})"
            )
    if settings.webhook_lease_seconds <= settings.webhook_timeout:
        # A lease that ends while its attempt goes on lets a second worker
        # make the same attempt at the same time.
        raise ConfigError(
            "invalid configuration value for WEBHOOK_LEASE_SECONDS: "
            f"{settings.webhook_lease_seconds:g} must be more than "
            f"WEBHOOK_TIMEOUT ({settings.webhook_timeout:g})"
        )


def load_config(overrides: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Merge every configuration source and return the checked result.

    The result holds every setting, and the Flask settings the file or
    ``overrides`` gave.
    """
    file = f"the {FILE_VARIABLE} file"
    from_file = _from_file(os.environ.get(FILE_VARIABLE))
    _refuse_unknown_keys(from_file, file)
    from_environ = _from_environ(os.environ)
    arguments = dict(overrides or {})
    _refuse_unknown_keys(arguments, "the config argument")
    # Later sources win; each value remembers where it came from, for errors.
    config = {**DEFAULTS, **from_file, **from_environ, **arguments}
    origins = {
        **dict.fromkeys(DEFAULTS, "the default"),
        **dict.fromkeys(from_file, file),
        **{key: ENV_PREFIX + key for key in from_environ},
        **dict.fromkeys(arguments, "the config argument"),
    }
    for key in FIELDS:
        try:
            config[key] = check_value(key, config[key])
        except Invalid as error:
            raise ConfigError(
                f"invalid configuration value for {key} "
                f"(from {origins[key]}): {error.msg}"
            ) from None
    if config["AUTO_UPGRADE"] is None:
        # One host owns a SQLite file; a shared server is upgraded on purpose.
        backend = make_url(config["DATABASE_URI"]).get_backend_name()
        config["AUTO_UPGRADE"] = backend == "sqlite"
    _check_together(_settings_in(config))
    return config


def _settings_in(config: Mapping[str, Any]) -> Settings:
    return Settings(**{field.name: config[key] for key, field in FIELDS.items()})


def _refuse_unknown_keys(config: Iterable[str], origin: str) -> None:
    known = [*FIELDS, *FLASK_KEYS]
    for key in config:
        if key not in FIELDS and key not in FLASK_KEYS:
            raise ConfigError(
                f"unknown configuration key {key} (in {origin})"
                + _did_you_mean(key, known)
            )


def _did_you_mean(name: str, known: Iterable[str]) -> str:
    # Stricter than difflib's 0.6, which offers TESTING for HOST_SETTING.
    nearest = difflib.get_close_matches(name, known, n=1, cutoff=0.7)
    if nearest:
        return f"; did you mean {nearest[0]}?"
    return "; the README's Configuration section lists every setting"


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
            f"cannot read the file named by {FILE_VARIABLE} ({path}): {exc.strerror}"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(
            f"{FILE_VARIABLE} file {path} is not valid TOML: {exc}"
        ) from None
    return dict(loaded)


def _from_environ(environ: Mapping[str, str]) -> dict[str, Any]:
    variables = [ENV_PREFIX + key for key in FIELDS]
    values = {}
    for name, raw in environ.items():
        if not name.startswith(ENV_PREFIX) or name == FILE_VARIABLE:
            continue
        if name not in variables:
            raise ConfigError(
                f"unknown environment variable {name}" + _did_you_mean(name, variables)
            )
        key = name.removeprefix(ENV_PREFIX)
        values[key] = _parse(key, raw)
    return values


def _parse(key: str, raw: str) -> Any:
    """Parse an environment string to the setting's type."""
    kind = _KINDS[key]
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
    if kind is int or kind is float:
        try:
            return kind(text)
        except ValueError:
            raise ConfigError(
                f"invalid configuration value for {key} (from {ENV_PREFIX}{key}): "
                f"expected {_KIND_NAMES[kind]}, got {raw!r}"
            ) from None
    # Strings, and lists (comma-separated; their check splits them).
    return raw


class CheckedConfig(Config):
    """A Flask config that checks every change to one of mything's settings.

    :meth:`load` fills it when the app is created. Afterwards,
    ``app.config["PAGE_SIZE"] = 50`` (or ``update``) is checked like a value
    from any other source, together with the other settings, and replaces
    the app's :class:`Settings`, so the next request uses it. A setting
    marked ``read_once`` built something at creation: changing it raises
    :class:`~mything.errors.ConfigError` instead of being silently ignored.
    Flask's keys and a host's own pass through unchecked.
    """

    #: The app's checked settings; None until :meth:`load` has run.
    settings: Settings | None = None

    def load(self, overrides: Mapping[str, Any] | None = None) -> None:
        """Read, check and keep every setting (``overrides`` win)."""
        config = load_config(overrides)
        super().update(config)
        self.settings = _settings_in(config)

    def __setitem__(self, key: str, value: Any) -> None:
        self.update({key: value})

    def update(self, *args: Any, **kwargs: Any) -> None:
        changes = dict(*args, **kwargs)
        mine = {key: value for key, value in changes.items() if key in FIELDS}
        if mine and self.settings is not None:
            changes.update(self._change(self.settings, mine))
        super().update(changes)

    def _change(self, current: Settings, changes: dict[str, Any]) -> dict[str, Any]:
        for key, value in changes.items():
            try:
                changes[key] = check_value(key, value)
            except Invalid as error:
                raise ConfigError(
                    f"invalid configuration value for {key}: {error.msg}"
                ) from None
            name = FIELDS[key].name
            if FIELDS[key].metadata["read_once"] and changes[key] != getattr(
                current, name
            ):
                raise ConfigError(
                    f"{key} cannot be changed after the app is created: it is "
                    "read once, at creation; pass it to MyThing(config) or "
                    "create_app(config) instead"
                )
        changed = dataclasses.replace(
            current, **{FIELDS[key].name: value for key, value in changes.items()}
        )
        _check_together(changed)
        self.settings = changed
        return changes


def settings_of(app: Flask) -> Settings:
    """Return ``app``'s settings, as checked at creation or at the last change."""
    checked = getattr(app.config, "settings", None)
    if checked is None:
        raise RuntimeError(f"{app!r} has no mything settings: build it with create_app")
    return checked


def settings() -> Settings:
    """Return the settings of the current app (in a request or app context)."""
    return settings_of(current_app)
