"""The ``mything`` command, and ``flask --app mything``, run as a user runs them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mything import MyThing
from mything.db import get_database

MYTHING = str(Path(sys.executable).parent / "mything")
FLASK_APP = [sys.executable, "-m", "flask", "--app", "mything"]


@pytest.fixture
def database_uri_env(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'cli.db'}"


@pytest.fixture
def run(tmp_path, database_uri_env):
    """Run a command in ``tmp_path`` with MYTHING_DATABASE_URI set; return it."""

    def run(*command: str, **env: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            command,
            env={**os.environ, "MYTHING_DATABASE_URI": database_uri_env, **env},
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )

    return run


@pytest.mark.parametrize("command", [[MYTHING], FLASK_APP], ids=["mything", "flask"])
def test_routes_lists_every_rule(run, app, command):
    result = run(*command, "routes")
    assert result.returncode == 0, result.stderr
    assert "/add" in result.stdout
    for rule in app.url_map.iter_rules():
        assert rule.rule in result.stdout


def test_init_db_creates_the_database_and_can_run_again(run, tmp_path):
    for _ in range(2):
        result = run(MYTHING, "init-db")
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "cli.db").exists()


@pytest.fixture
def thing_on_the_same_database(database_uri_env):
    thing = MyThing({"DATABASE_URI": database_uri_env})
    yield thing
    get_database(thing.flask_app).dispose()


def test_a_token_made_by_the_command_line_authenticates(
    run, thing_on_the_same_database
):
    assert run(MYTHING, "create-user", "alice").returncode == 0
    result = run(MYTHING, "create-token", "alice")
    assert result.returncode == 0, result.stderr
    (token,) = result.stdout.splitlines()
    assert token.startswith("mt_")

    client = thing_on_the_same_database.flask_app.test_client()
    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    assert response.json["name"] == "alice"


def test_each_token_is_new(run):
    run(MYTHING, "create-user", "alice")
    tokens = {run(MYTHING, "create-token", "alice").stdout for _ in range(2)}
    assert len(tokens) == 2


def test_flask_app_mything_has_the_same_commands(run, thing_on_the_same_database):
    result = run(*FLASK_APP, "create-user", "bob")
    assert result.returncode == 0, result.stderr
    assert thing_on_the_same_database.as_user("bob").me()["name"] == "bob"


@pytest.mark.parametrize(
    ("setup", "command", "named"),
    [
        ([], ["create-token", "nobody"], "nobody"),
        ([["create-user", "alice"]], ["create-user", "alice"], "alice"),
        ([], ["create-user", "Not A Name"], "name"),
    ],
    ids=["unknown user", "duplicate user", "invalid name"],
)
def test_a_refused_command_exits_1_with_a_message(run, setup, command, named):
    for step in setup:
        assert run(MYTHING, *step).returncode == 0
    result = run(MYTHING, *command)
    assert result.returncode == 1
    assert result.stderr.startswith("Error: ")
    assert named in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("command", [[MYTHING], FLASK_APP], ids=["mything", "flask"])
@pytest.mark.parametrize("subcommand", ["routes", "init-db"])
def test_a_bad_setting_exits_with_one_line_naming_it(run, command, subcommand):
    result = run(*command, subcommand, MYTHING_PAGE_SIZE="abc")
    assert result.returncode == 1
    (line,) = result.stderr.splitlines()
    assert "PAGE_SIZE" in line
    assert "Traceback" not in result.stdout + result.stderr


def test_openapi_writes_what_get_openapi_json_serves_there(
    run, thing_on_the_same_database
):
    result = run(MYTHING, "openapi", "--server-url", "https://h.test/api")
    assert result.returncode == 0, result.stderr

    client = thing_on_the_same_database.flask_app.test_client()
    served = client.get("/openapi.json", base_url="https://h.test/api/").json
    assert json.loads(result.stdout) == served
    assert served["servers"] == [{"url": "https://h.test/api"}]


def test_openapi_output_is_the_same_bytes_every_time_and_sorted(run, tmp_path):
    outputs = {
        run(MYTHING, "openapi", PYTHONHASHSEED="1").stdout,
        run(MYTHING, "openapi", PYTHONHASHSEED="2").stdout,
        run(*FLASK_APP, "openapi").stdout,
    }
    assert run(MYTHING, "openapi", "--output", "spec.json").returncode == 0
    outputs.add((tmp_path / "spec.json").read_text())

    (output,) = outputs
    document = json.loads(output)
    assert document["servers"] == [{"url": "/"}]
    assert output.endswith("}\n")

    def assert_sorted(value):
        if isinstance(value, dict):
            assert list(value) == sorted(value)
            for item in value.values():
                assert_sorted(item)
        elif isinstance(value, list):
            for item in value:
                assert_sorted(item)

    assert_sorted(document)


def test_tokens_are_created_listed_and_revoked_from_the_command_line(
    run, thing_on_the_same_database
):
    run(MYTHING, "create-user", "alice")
    made = run(
        MYTHING,
        "create-token",
        "alice",
        "--label",
        "backup job",
        "--scope",
        "read",
        "--expires-in-days",
        "7",
    )
    assert made.returncode == 0, made.stderr
    (token,) = made.stdout.splitlines()

    listed = run(MYTHING, "list-tokens", "alice")
    assert listed.returncode == 0, listed.stderr
    header, row = listed.stdout.splitlines()
    assert header.split() == [
        "ID",
        "SCOPE",
        "CREATED",
        "EXPIRES",
        "LAST",
        "USED",
        "NAME",
    ]
    token_id, scope = row.split()[:2]
    assert scope == "read"
    assert row.split()[-3:] == ["never", "backup", "job"]
    assert token not in listed.stdout

    client = thing_on_the_same_database.flask_app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/me", headers=headers).status_code == 200
    revoked = run(MYTHING, "revoke-token", token_id)
    assert revoked.returncode == 0, revoked.stderr
    assert client.get("/me", headers=headers).status_code == 401
    again = run(MYTHING, "revoke-token", token_id)
    assert again.returncode == 1
    assert "not found" in again.stderr


@pytest.mark.parametrize(
    ("options", "named"),
    [
        (["--scope", "admin"], "--scope"),
        (["--scope", "READ"], "--scope"),
        (["--expires-in-days", "0"], "expires_in_days"),
        (["--expires-in-days", "366"], "expires_in_days"),
        (["--expires-in-days", "1.5"], "--expires-in-days"),
        (["--label", ""], "name"),
        (["--label", "x" * 101], "name"),
    ],
)
def test_a_refused_token_option_creates_nothing(
    run, thing_on_the_same_database, options, named
):
    run(MYTHING, "create-user", "alice")

    result = run(MYTHING, "create-token", "alice", *options)

    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert thing_on_the_same_database.as_user("alice").tokens()["items"] == []


def test_listing_the_tokens_of_nobody_fails(run):
    result = run(MYTHING, "list-tokens", "nobody")
    assert result.returncode == 1
    assert "nobody" in result.stderr


def test_add_member_makes_a_member_at_once(run, thing_on_the_same_database):
    thing = thing_on_the_same_database
    thing.create_user("alice")
    thing.create_user("bob")
    thing.as_user("alice").create_organization("acme", name="Acme")

    result = run(MYTHING, "add-member", "acme", "bob", "--role", "owner")

    assert result.returncode == 0, result.stderr
    assert "bob" in result.stdout
    assert thing.as_user("bob").organization("acme")["role"] == "owner"
    assert thing.as_user("bob").my_invitations()["items"] == []


@pytest.mark.parametrize(
    ("command", "named"),
    [
        (["add-member", "nope", "bob"], "Organization"),
        (["add-member", "acme", "nobody"], "nobody"),
        (["add-member", "acme", "alice"], "alice"),
        (["add-member", "acme", "bob", "--role", "admin"], "admin"),
    ],
    ids=["unknown organization", "unknown user", "already a member", "bad role"],
)
def test_a_refused_add_member_changes_nothing(
    run, thing_on_the_same_database, command, named
):
    thing = thing_on_the_same_database
    thing.create_user("alice")
    thing.create_user("bob")
    thing.as_user("alice").create_organization("acme", name="Acme")

    result = run(MYTHING, *command)

    assert result.returncode != 0
    assert named in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    members = thing.as_user("alice").members("acme")["items"]
    assert members == [{"user": "alice", "role": "owner"}]
