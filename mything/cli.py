"""The ``mything`` command: Flask's CLI for a mything app, plus admin commands.

``mything run``, ``mything routes`` and ``mything shell`` come from Flask;
``init-db``, ``create-user``, ``create-token``, ``list-tokens`` and
``revoke-token`` are mything's own. The
same commands work as ``flask --app mything ...``. Configuration comes from
``MYTHING_*`` variables and the ``MYTHING_CONFIG`` file, as for gunicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from flask.cli import FlaskGroup, with_appcontext

from . import credentials, services
from .db import commit_db, get_database
from .errors import ApiException, ConfigError
from .schemas import NEW_TOKEN, NEW_USER
from .validation import validate, without_none

if TYPE_CHECKING:
    from flask import Flask


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Create the database tables if they are missing."""
    get_database().init_schema()
    click.echo("The database is ready.")


@click.command("create-user")
@click.argument("name")
@with_appcontext
def create_user_command(name: str) -> None:
    """Create the user NAME."""
    _run(lambda: services.create_user(validate(NEW_USER, {"name": name})["name"]))
    click.echo(f"Created the user {name}.")


@click.command("create-token")
@click.argument("name")
@click.option("--label", help="What the token is for (default: unnamed).")
@click.option(
    "--scope",
    type=click.Choice(["read", "write"]),
    default="write",
    show_default=True,
    help="read: GET, HEAD and OPTIONS only.",
)
@click.option(
    "--expires-in-days",
    type=int,
    help="Days until it expires (default: TOKEN_DEFAULT_DAYS).",
)
@with_appcontext
def create_token_command(
    name: str, label: str | None, scope: str, expires_in_days: int | None
) -> None:
    """Print a new API token for the user NAME (it is shown only once)."""
    data = without_none(
        [
            ("name", "unnamed" if label is None else label),
            ("scope", scope),
            ("expires_in_days", expires_in_days),
        ]
    )

    def operation() -> str:
        clean = validate(NEW_TOKEN, data)
        return credentials.create_token(name, label=clean.pop("name"), **clean)

    click.echo(_run(operation))


@click.command("list-tokens")
@click.argument("name")
@with_appcontext
def list_tokens_command(name: str) -> None:
    """List the tokens of the user NAME, newest first (never their secrets)."""
    user = services.find_user(name)
    if user is None:
        raise click.ClickException(f"There is no user {name!r}.")
    rows = []
    cursor = None
    while True:
        page = credentials.list_tokens(user, limit=100, cursor=cursor)
        rows += [
            [
                str(token["id"]),
                token["scope"],
                _minute(token["created_at"]),
                _minute(token["expires_at"]),
                _minute(token["last_used_at"]),
                token["name"],
            ]
            for token in page["items"]
        ]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    header = ["ID", "SCOPE", "CREATED", "EXPIRES", "LAST USED", "NAME"]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(5)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[5]]))


def _minute(moment: str | None) -> str:
    """Shorten an ISO 8601 UTC timestamp to the minute, for a table."""
    return "never" if moment is None else moment[:16].replace("T", " ")


@click.command("revoke-token")
@click.argument("token_id", metavar="ID", type=int)
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke the token ID (see list-tokens); it stops working at once."""
    _run(lambda: credentials.revoke_any_token(token_id))
    click.echo(f"Revoked the token {token_id}.")


def _run(operation: Any) -> Any:
    try:
        result = operation()
    except ApiException as exc:
        raise click.ClickException(exc.message) from None
    commit_db()
    return result


def register_commands(app: Flask) -> None:
    """Add mything's admin commands to ``app.cli``."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_token_command)
    app.cli.add_command(list_tokens_command)
    app.cli.add_command(revoke_token_command)


def _create_app() -> Flask:
    from .app import create_app

    try:
        return create_app()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


main = FlaskGroup(
    name="mything",
    create_app=_create_app,
    help="Run and administer mything. Configure it with MYTHING_* variables.",
)
