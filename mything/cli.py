"""The ``mything`` command: Flask's CLI for a mything app, plus admin commands.

``mything run``, ``mything routes`` and ``mything shell`` come from Flask;
``init-db``, ``create-user``, ``create-token`` and ``openapi`` are
mything's own. The
same commands work as ``flask --app mything ...``. Configuration comes from
``MYTHING_*`` variables and the ``MYTHING_CONFIG`` file, as for gunicorn.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import click
from flask.cli import FlaskGroup, with_appcontext

from . import openapi, services
from .db import commit_db, get_database
from .errors import ApiException, ConfigError
from .schemas import NEW_USER
from .validation import validate

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
@with_appcontext
def create_token_command(name: str) -> None:
    """Print a new API token for the user NAME (it is shown only once)."""
    click.echo(_run(lambda: services.create_token(name)))


@click.command("openapi")
@click.option(
    "--output",
    "-o",
    type=click.File("wb"),
    default="-",
    help="The file to write (default: standard output).",
)
@click.option(
    "--server-url",
    default="/",
    show_default=True,
    help="The server URL in the document, as GET /openapi.json would give it "
    "when served there (for instance https://example.com/api).",
)
@with_appcontext
def openapi_command(output: Any, server_url: str) -> None:
    """Write the OpenAPI 3.1 document, with sorted keys, byte for byte the same."""
    output.write(openapi.render_document(server_url) + b"\n")


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
    app.cli.add_command(openapi_command)


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
