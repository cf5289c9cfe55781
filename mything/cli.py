"""mything's own commands, added to every app's ``app.cli``.

``init-db``, ``db upgrade|downgrade|current|history``, ``create-user``,
``create-token``, ``list-tokens``, ``revoke-token``, ``events
list|verify|purge``, ``deliver`` and ``openapi``. They
run as ``mything ...`` (:mod:`mything.__main__`) or ``flask --app mything
...``, beside Flask's own ``run``, ``routes`` and ``shell``.
"""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import click
from flask import current_app
from flask.cli import with_appcontext
from sqlalchemy.exc import DBAPIError

from . import admin, migrations
from .db import get_database, transaction
from .errors import ApiException, ConfigError

if TYPE_CHECKING:
    from flask import Flask

T = TypeVar("T")


@click.command("init-db")
@with_appcontext
def init_db_command() -> None:
    """Bring the database schema to the newest revision (like db upgrade)."""
    _migrate(lambda: get_database().upgrade())
    click.echo("The database is ready.")


@click.group("db")
def db_group() -> None:
    """Upgrade, downgrade and inspect mything's database schema."""


@db_group.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def db_upgrade_command(revision: str) -> None:
    """Upgrade the schema to REVISION (default: head, the newest)."""
    before, after = _migrate(lambda: get_database().upgrade(revision))
    if before.revision == after.revision and before.has_tables == after.has_tables:
        click.echo(f"Nothing to do: the database is at {after.describe()}.")
    else:
        click.echo(f"Upgraded the database to {after.describe()}.")


@db_group.command("downgrade")
@click.argument("revision")
@with_appcontext
def db_downgrade_command(revision: str) -> None:
    """Downgrade the schema to REVISION ("base" removes every mything table)."""
    before, after = _migrate(lambda: get_database().downgrade(revision))
    click.echo(f"Downgraded the database to {after.describe()}.")


@db_group.command("current")
@with_appcontext
def db_current_command() -> None:
    """Print the revision of the database schema."""
    click.echo(_migrate(lambda: get_database().status()).describe())


@db_group.command("history")
def db_history_command() -> None:
    """List every revision of the schema, oldest first."""
    for revision, description in migrations.history():
        click.echo(f"{revision}  {description.splitlines()[0]}")


def _migrate(operation: Callable[[], T]) -> T:
    try:
        return operation()
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    except DBAPIError as exc:
        raise click.ClickException(
            f"the database did not answer: {exc.orig or exc}".splitlines()[0]
        ) from None


@click.command("create-user")
@click.argument("name")
@with_appcontext
def create_user_command(name: str) -> None:
    """Create the user NAME."""
    _run(lambda: admin.create_user(name))
    click.echo(f"Created the user {name}.")


@click.command("create-token")
@click.argument("name")
@click.option("--label", help="What the token is for (default: unnamed).")
@click.option(
    "--scope",
    type=click.Choice(["read", "write"]),
    help="read: GET, HEAD and OPTIONS only (default: write).",
)
@click.option(
    "--expires-in-days",
    type=int,
    help="Days until it expires (default: TOKEN_DEFAULT_DAYS).",
)
@with_appcontext
def create_token_command(
    name: str, label: str | None, scope: str | None, expires_in_days: int | None
) -> None:
    """Print a new API token for the user NAME (it is shown only once)."""
    secret = _run(
        lambda: admin.create_token(
            name, label=label, scope=scope, expires_in_days=expires_in_days
        )
    )
    click.echo(secret)


@click.command("list-tokens")
@click.argument("name")
@with_appcontext
def list_tokens_command(name: str) -> None:
    """List the tokens of the user NAME, newest first (never their secrets)."""
    rows = [
        [
            str(token["id"]),
            token["scope"],
            _minute(token["created_at"]),
            _minute(token["expires_at"]),
            _minute(token["last_used_at"]),
            token["name"],
        ]
        for token in _run(lambda: admin.list_tokens(name))
    ]
    header = ["ID", "SCOPE", "CREATED", "EXPIRES", "LAST USED", "NAME"]
    widths = [max(len(row[column]) for row in [header, *rows]) for column in range(5)]
    for row in [header, *rows]:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        click.echo("  ".join([*cells, row[5]]))


def _minute(moment: str | None) -> str:
    """Shorten an ISO 8601 UTC timestamp to the minute, for a table."""
    return "never" if moment is None else moment[:16].replace("T", " ")


@click.command("add-member")
@click.argument("slug")
@click.argument("user")
@click.option(
    "--role",
    type=click.Choice(["member", "owner"]),
    default="member",
    show_default=True,
    help="The role USER gets.",
)
@with_appcontext
def add_member_command(slug: str, user: str, role: str) -> None:
    """Make USER a member of the organization SLUG at once, without an invitation."""
    _run(lambda: admin.add_member(slug, user, role=role))
    click.echo(f"Added {user} to {slug} as {role}.")


@click.command("revoke-token")
@click.argument("token_id", metavar="ID", type=int)
@with_appcontext
def revoke_token_command(token_id: int) -> None:
    """Revoke the token ID (see list-tokens); it stops working at once."""
    _run(lambda: admin.revoke_token(token_id))
    click.echo(f"Revoked the token {token_id}.")


@click.group("events")
def events_group() -> None:
    """List, verify and purge the ledger of every write (the audit log)."""


@events_group.command("list")
@click.argument("slug")
@click.option("--type", "type_", help="An event type, or a resource's: note.*")
@click.option("--limit", type=click.IntRange(min=1), help="At most this many.")
@with_appcontext
def events_list_command(slug: str, type_: str | None, limit: int | None) -> None:
    """Print the events of the organization SLUG, newest first, one JSON per line."""

    def print_all() -> None:
        for event in admin.list_events(slug, type=type_, limit=limit):
            click.echo(json.dumps(event, ensure_ascii=False))

    _run(print_all)


@events_group.command("verify")
@click.option("--org", "slug", help="Only the chains of this organization's slug.")
@with_appcontext
def events_verify_command(slug: str | None) -> None:
    """Check every hash chain; exit 1 naming the first break."""
    found = _run(lambda: admin.verify_events(slug))
    if found.broken is not None:
        raise click.ClickException(
            f"broken chain: {found.broken} ({found.events} events verified before)"
        )
    click.echo(f"{found.events} events in {found.chains} chains verified.")


@events_group.command("purge")
@with_appcontext
def events_purge_command() -> None:
    """Remove the events older than EVENTS_RETENTION_DAYS; verify goes on working."""
    removed = _run(admin.purge_events)
    click.echo(f"Removed {removed} events.")


@click.command("deliver")
@click.option("--once", is_flag=True, help="Make one pass over what is due, then exit.")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1, max=256),
    default=1,
    show_default=True,
    help="How many deliveries to attempt at a time.",
)
@with_appcontext
def deliver_command(once: bool, concurrency: int) -> None:
    """Send the webhook deliveries that are due, until stopped (or --once).

    Run as many as you like, on any hosts that reach the database. SIGTERM
    or Ctrl-C lets the attempts under way finish, then exits.
    """
    # Imported here: the other commands, and serving, never need it.
    from .worker import Worker, run_workers

    worker = Worker(current_app._get_current_object())  # type: ignore[attr-defined]

    def stop(signum: int, frame: Any) -> None:
        worker.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    made = run_workers(worker, concurrency=concurrency, once=once)
    if once:
        click.echo(f"Made {made} delivery attempts.")


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
    from . import openapi  # as the /openapi.json view does: on first use

    output.write(openapi.render_document(server_url) + b"\n")


def _run(operation: Callable[[], T]) -> T:
    """Run ``operation`` in a transaction; an API error is one line and exit 1."""
    try:
        with transaction():
            return operation()
    except ApiException as exc:
        raise click.ClickException(exc.message) from None


def register_commands(app: Flask) -> None:
    """Add mything's admin commands to ``app.cli``."""
    app.cli.add_command(init_db_command)
    app.cli.add_command(db_group)
    app.cli.add_command(events_group)
    app.cli.add_command(create_user_command)
    app.cli.add_command(create_token_command)
    app.cli.add_command(openapi_command)
    app.cli.add_command(list_tokens_command)
    app.cli.add_command(revoke_token_command)
    app.cli.add_command(add_member_command)
    app.cli.add_command(deliver_command)
