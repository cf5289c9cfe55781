"""Configuration: defaults, four sources in order, and bad values refused at start.

Also: unknown keys refused with the nearest known one, changes after creation
checked, and the README's table written from the one declaration.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from helpers.processes import gunicorn

from mything import ConfigError, MyThing, create_app
from mything.config import FIELDS, settings_of

README = Path(__file__).parent.parent / "README.md"


@pytest.fixture(autouse=True)
def in_tmp_path(tmp_path, monkeypatch):
    """Run in an empty directory, where the default SQLite file would go."""
    monkeypatch.chdir(tmp_path)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("DATABASE_URI", "sqlite:///mything.db"),
        ("MAX_CONTENT_LENGTH", 1024 * 1024),
        ("PAGE_SIZE", 20),
        ("MAX_PAGE_SIZE", 100),
        ("RATELIMIT", "600/minute"),
        ("RATELIMIT_STORAGE_URI", "memory://"),
        ("RATELIMIT_ENABLED", True),
        ("TRUST_REMOTE_USER", False),
        ("TRUSTED_PROXIES", 0),
        ("METRICS_ENABLED", False),
        ("METRICS_TOKEN", ""),
        ("TOKEN_DEFAULT_DAYS", 90),
        ("TOKEN_MAX_DAYS", 365),
    ],
)
def test_defaults(key, value):
    assert create_app().config[key] == value


def write_config_file(directory, suffix: str, page_size: int) -> str:
    """Write a config file; TOML and Python read ``KEY = 30`` the same way."""
    path = directory / f"settings{suffix}"
    path.write_text(f"PAGE_SIZE = {page_size}\n")
    return str(path)


@pytest.mark.parametrize("suffix", [".py", ".toml"])
@pytest.mark.parametrize(
    ("sources", "page_size"),
    [
        ((), 20),
        (("file",), 30),
        (("file", "environment"), 40),
        (("environment",), 40),
        (("file", "environment", "argument"), 50),
        (("file", "argument"), 50),
    ],
)
def test_each_source_wins_over_the_ones_before(
    tmp_path, monkeypatch, suffix, sources, page_size
):
    if "file" in sources:
        monkeypatch.setenv("MYTHING_CONFIG", write_config_file(tmp_path, suffix, 30))
    if "environment" in sources:
        monkeypatch.setenv("MYTHING_PAGE_SIZE", "40")
    config = {"PAGE_SIZE": 50} if "argument" in sources else None
    assert create_app(config).config["PAGE_SIZE"] == page_size


def test_sources_are_merged_key_by_key(tmp_path, monkeypatch):
    (tmp_path / "settings.toml").write_text(
        "PAGE_SIZE = 5\nMAX_PAGE_SIZE = 50\nTRUSTED_PROXIES = 1\n"
    )
    monkeypatch.setenv("MYTHING_CONFIG", str(tmp_path / "settings.toml"))
    monkeypatch.setenv("MYTHING_MAX_PAGE_SIZE", "60")
    monkeypatch.setenv("MYTHING_TRUSTED_PROXIES", "2")
    config = create_app({"TRUSTED_PROXIES": 3}).config
    assert config["PAGE_SIZE"] == 5
    assert config["MAX_PAGE_SIZE"] == 60
    assert config["TRUSTED_PROXIES"] == 3
    assert config["DATABASE_URI"] == "sqlite:///mything.db"


def test_my_thing_reads_the_same_sources(monkeypatch):
    monkeypatch.setenv("MYTHING_MAX_CONTENT_LENGTH", "1000")
    thing = MyThing({"PAGE_SIZE": 7})
    assert thing.flask_app.config["MAX_CONTENT_LENGTH"] == 1000
    assert thing.flask_app.config["PAGE_SIZE"] == 7


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("no", False),
        ("OFF", False),
    ],
)
def test_booleans_from_the_environment(monkeypatch, raw, value):
    monkeypatch.setenv("MYTHING_TRUST_REMOTE_USER", raw)
    assert create_app().config["TRUST_REMOTE_USER"] is value


def test_flasks_own_settings_pass_through():
    config = create_app({"TESTING": True, "SECRET_KEY": "kept"}).config
    assert config["TESTING"] is True
    assert config["SECRET_KEY"] == "kept"


@pytest.mark.parametrize(
    "uri",
    [
        "postgresql://user:secret@db.example/mything",
        "postgres://user:secret@db.example/mything",
        "postgresql+psycopg://user:secret@db.example/mything",
    ],
)
def test_postgresql_uris_use_psycopg(uri):
    config = create_app({"DATABASE_URI": uri}).config
    assert (
        config["DATABASE_URI"] == "postgresql+psycopg://user:secret@db.example/mything"
    )


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("mysql://user:secret@db.example/mything", "mysql+pymysql"),
        ("mariadb://user:secret@db.example/mything", "mariadb+pymysql"),
    ],
)
def test_mysql_and_mariadb_uris_use_pymysql(uri, expected):
    config = create_app({"DATABASE_URI": uri}).config
    assert config["DATABASE_URI"] == f"{expected}://user:secret@db.example/mything"


def test_auto_upgrade_is_on_for_sqlite_and_off_for_database_servers():
    sqlite = create_app({"DATABASE_URI": "sqlite://"}).config
    postgresql = create_app({"DATABASE_URI": "postgresql://db.example/x"}).config
    chosen = create_app({"DATABASE_URI": "sqlite://", "AUTO_UPGRADE": False}).config
    assert (sqlite["AUTO_UPGRADE"], postgresql["AUTO_UPGRADE"]) == (True, False)
    assert chosen["AUTO_UPGRADE"] is False


def test_a_postgresql_uri_from_the_environment_uses_psycopg(monkeypatch):
    monkeypatch.setenv("MYTHING_DATABASE_URI", "postgresql://db.example/mything")
    config = create_app().config
    assert config["DATABASE_URI"] == "postgresql+psycopg://db.example/mything"


@pytest.mark.parametrize(
    ("environment", "config", "key"),
    [
        ({"MYTHING_PAGE_SIZE": "abc"}, None, "PAGE_SIZE"),
        ({"MYTHING_MAX_CONTENT_LENGTH": "1 MiB"}, None, "MAX_CONTENT_LENGTH"),
        ({"MYTHING_TRUST_REMOTE_USER": "maybe"}, None, "TRUST_REMOTE_USER"),
        ({"MYTHING_DATABASE_URI": "oracle://db.example/mything"}, None, "DATABASE_URI"),
        ({}, {"DATABASE_URI": "oracle://db.example/mything"}, "DATABASE_URI"),
        ({"MYTHING_DATABASE_TIMEOUT": "abc"}, None, "DATABASE_TIMEOUT"),
        ({}, {"DATABASE_TIMEOUT": 0}, "DATABASE_TIMEOUT"),
        ({}, {"DATABASE_TIMEOUT": -1}, "DATABASE_TIMEOUT"),
        ({"MYTHING_DATABASE_TIMEOUT": "0"}, None, "DATABASE_TIMEOUT"),
        ({}, {"DATABASE_SCHEMA": "my schema"}, "DATABASE_SCHEMA"),
        ({}, {"DATABASE_SCHEMA": 'x"y'}, "DATABASE_SCHEMA"),
        ({}, {"DATABASE_SCHEMA": "mything"}, "DATABASE_SCHEMA"),
        ({"MYTHING_AUTO_UPGRADE": "maybe"}, None, "AUTO_UPGRADE"),
        ({}, {"DATABASE_URI": "not a database"}, "DATABASE_URI"),
        ({}, {"PAGE_SIZE": 101}, "PAGE_SIZE"),
        ({"MYTHING_MAX_PAGE_SIZE": "10"}, None, "PAGE_SIZE"),
        ({}, {"PAGE_SIZE": 0}, "PAGE_SIZE"),
        ({}, {"PAGE_SIZE": "20"}, "PAGE_SIZE"),
        ({}, {"PAGE_SIZE": True}, "PAGE_SIZE"),
        ({}, {"TRUST_REMOTE_USER": "yes"}, "TRUST_REMOTE_USER"),
        ({}, {"RATELIMIT": 600}, "RATELIMIT"),
        ({}, {"DATABASE_URI": None}, "DATABASE_URI"),
        ({}, {"CORS_ORIGINS": 5}, "CORS_ORIGINS"),
        ({}, {"DATABASE_TIMEOUT": "10"}, "DATABASE_TIMEOUT"),
        ({}, {"TRUSTED_PROXIES": -1}, "TRUSTED_PROXIES"),
        ({}, {"RATELIMIT": "lots"}, "RATELIMIT"),
        ({}, {"RATELIMIT_STORAGE_URI": "nowhere://"}, "RATELIMIT_STORAGE_URI"),
        # Nothing listens on port 1: an unreachable Redis is found at start.
        ({}, {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:1"}, "RATELIMIT_STORAGE_URI"),
    ],
)
def test_a_bad_value_fails_at_creation_naming_its_key(
    monkeypatch, environment, config, key
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as caught:
        create_app(config)
    message = str(caught.value)
    assert re.search(rf"\b{key}\b", message), message
    assert "\n" not in message


def test_my_thing_fails_the_same_way(monkeypatch):
    monkeypatch.setenv("MYTHING_PAGE_SIZE", "abc")
    with pytest.raises(ConfigError, match="PAGE_SIZE"):
        MyThing()


def test_a_missing_config_file_is_named(tmp_path, monkeypatch):
    missing = tmp_path / "missing.toml"
    monkeypatch.setenv("MYTHING_CONFIG", str(missing))
    with pytest.raises(ConfigError) as caught:
        create_app()
    assert "MYTHING_CONFIG" in str(caught.value)
    assert str(missing) in str(caught.value)


def test_a_config_file_that_is_not_toml_is_named(tmp_path, monkeypatch):
    (tmp_path / "settings.toml").write_text("PAGE_SIZE = \n")
    monkeypatch.setenv("MYTHING_CONFIG", str(tmp_path / "settings.toml"))
    with pytest.raises(ConfigError, match="MYTHING_CONFIG"):
        create_app()


def test_a_bad_value_in_the_config_file_names_key_and_file(tmp_path, monkeypatch):
    (tmp_path / "settings.py").write_text("PAGE_SIZE = 'twenty'\n")
    monkeypatch.setenv("MYTHING_CONFIG", str(tmp_path / "settings.py"))
    with pytest.raises(ConfigError) as caught:
        create_app()
    assert "PAGE_SIZE" in str(caught.value)
    assert "MYTHING_CONFIG" in str(caught.value)


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"TOKEN_MAX_DAYS": 0}, "TOKEN_MAX_DAYS"),
        ({"TOKEN_DEFAULT_DAYS": "soon"}, "TOKEN_DEFAULT_DAYS"),
        ({"TOKEN_DEFAULT_DAYS": 400}, "TOKEN_DEFAULT_DAYS"),
        ({"TOKEN_DEFAULT_DAYS": 10, "TOKEN_MAX_DAYS": 5}, "TOKEN_DEFAULT_DAYS"),
    ],
)
def test_bad_token_lifetimes_fail_at_start_naming_the_key(settings, named):
    with pytest.raises(ConfigError) as refused:
        create_app(settings)
    (line,) = str(refused.value).splitlines()
    assert named in line


def test_token_lifetimes_come_from_the_environment(monkeypatch):
    monkeypatch.setenv("MYTHING_TOKEN_DEFAULT_DAYS", "30")
    monkeypatch.setenv("MYTHING_TOKEN_MAX_DAYS", "60")
    config = create_app().config
    assert (config["TOKEN_DEFAULT_DAYS"], config["TOKEN_MAX_DAYS"]) == (30, 60)


@pytest.mark.parametrize(
    ("environment", "config", "named", "nearest"),
    [
        ({}, {"TRUST_REMOTE_USERS": True}, "TRUST_REMOTE_USERS", "TRUST_REMOTE_USER"),
        ({}, {"SECRET_KYE": "x"}, "SECRET_KYE", "SECRET_KEY"),
        (
            {"MYTHING_RATELIMT": "5/minute"},
            None,
            "MYTHING_RATELIMT",
            "MYTHING_RATELIMIT",
        ),
        ({"MYTHING_PAGESIZE": "5"}, None, "MYTHING_PAGESIZE", "MYTHING_PAGE_SIZE"),
    ],
)
def test_an_unknown_key_stops_creation_naming_the_nearest_known_one(
    monkeypatch, environment, config, named, nearest
):
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ConfigError) as refused:
        create_app(config)
    (line,) = str(refused.value).splitlines()
    assert re.search(rf"\b{named}\b", line), line
    assert re.search(rf"\b{nearest}\b", line), line


@pytest.mark.parametrize("suffix", [".py", ".toml"])
def test_an_unknown_key_in_the_config_file_names_the_file(
    tmp_path, monkeypatch, suffix
):
    (tmp_path / f"settings{suffix}").write_text("MAX_PAGESIZE = 50\n")
    monkeypatch.setenv("MYTHING_CONFIG", str(tmp_path / f"settings{suffix}"))
    with pytest.raises(ConfigError) as refused:
        create_app()
    (line,) = str(refused.value).splitlines()
    assert "MAX_PAGESIZE" in line
    assert "MYTHING_CONFIG" in line
    assert re.search(r"\bMAX_PAGE_SIZE\b", line), line


def test_an_unknown_key_like_no_other_points_to_the_list_of_settings():
    with pytest.raises(ConfigError, match="README") as refused:
        create_app({"HOST_SETTING": "kept"})
    assert "HOST_SETTING" in str(refused.value)


@pytest.mark.slow
def test_an_unknown_variable_stops_gunicorn_naming_it_and_the_nearest(tmp_path):
    misspelt = {"MYTHING_RATELIMT": "5/minute"}
    with pytest.raises(RuntimeError) as stopped:
        with gunicorn("mything:MyThing()", env=misspelt, cwd=tmp_path):
            pass
    status, *output = str(stopped.value).splitlines()
    assert status.startswith("server exited with ")
    assert status != "server exited with 0:"
    named = [line for line in output if line.startswith("unknown environment")]
    assert named, output
    assert "MYTHING_RATELIMT" in named[0]
    assert "MYTHING_RATELIMIT?" in named[0]


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("PAGE_SIZE", 0),
        ("PAGE_SIZE", 101),
        ("MAX_PAGE_SIZE", "ten"),
        ("MAX_PAGE_SIZE", 10),
        ("RATELIMIT", "lots"),
        ("TRUST_REMOTE_USER", "yes"),
        ("MAX_CONTENT_LENGTH", -1),
    ],
)
@pytest.mark.parametrize("how", ["item", "update"])
def test_a_bad_change_after_creation_is_refused_and_requests_go_on(
    thing, client, alice, key, value, how
):
    config = thing.flask_app.config
    with pytest.raises(ConfigError) as refused:
        if how == "item":
            config[key] = value
        else:
            config.update({key: value})
    (line,) = str(refused.value).splitlines()
    assert re.search(rf"\b{key}\b", line), line
    assert config[key] != value
    response = client.get("/orgs", headers=alice.headers)
    assert response.status_code == 200


def test_settings_that_must_agree_may_change_together(thing, client, alice):
    thing.flask_app.config.update(PAGE_SIZE=150, MAX_PAGE_SIZE=200)
    assert settings_of(thing.flask_app).page_size == 150
    assert client.get("/orgs?limit=200", headers=alice.headers).status_code == 200


def test_a_setting_read_once_cannot_be_changed_after_creation(thing):
    config = thing.flask_app.config
    with pytest.raises(ConfigError, match="RATELIMIT_ENABLED.*read once"):
        config["RATELIMIT_ENABLED"] = False
    # Setting it again to what it is changes nothing, so it is not refused.
    config["RATELIMIT_ENABLED"] = True
    assert settings_of(thing.flask_app).ratelimit_enabled is True


def test_a_host_may_add_keys_of_its_own_after_creation(thing):
    thing.flask_app.config["HOST_SETTING"] = "kept"
    assert thing.flask_app.config["HOST_SETTING"] == "kept"


def test_the_settings_are_typed_and_follow_a_change():
    app = create_app({"PAGE_SIZE": 7})
    assert settings_of(app).page_size == 7
    app.config["PAGE_SIZE"] = 9
    assert settings_of(app).page_size == 9
    assert settings_of(app).auto_upgrade is True


def test_secrets_are_left_out_of_the_settings_repr():
    app = create_app(
        {
            "DATABASE_URI": "postgresql://mything:hunter2@db.example/mything",
            "METRICS_TOKEN": "a-scraper-token-of-length",
        }
    )
    shown = repr(settings_of(app))
    assert "hunter2" not in shown
    assert "a-scraper-token-of-length" not in shown


def shown(default: object) -> str:
    """Write a default as the README's table does."""
    if default is None:
        return "none"
    if default in ("", []):
        return "empty"
    if isinstance(default, bool):
        return "on" if default else "off"
    if isinstance(default, float):
        return f"`{default:g}`"
    return f"`{default}`"


def test_the_readme_lists_every_setting_as_declared():
    rows = [
        f"| `{key}` | {shown(field.metadata['default'])} "
        f"| {field.metadata['description']} "
        f"| {'read once' if field.metadata['read_once'] else 'may change'} |"
        for key, field in FIELDS.items()
    ]
    readme = README.read_text().splitlines()
    start = readme.index("| key | default | meaning | after creation |") + 2
    table = readme[start : start + len(rows) + 1]
    assert table == [*rows, ""], "\n".join(rows)
