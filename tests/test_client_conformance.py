"""One suite, three targets: the Python API in process, the client over
``httpx.WSGITransport``, and the client against gunicorn on PostgreSQL.

Each test is a scenario that calls every method of one resource, its pages
followed to the end and its documented errors included. It runs on the
target and on an in-process reference, each in a world of its own, and the
two records must be equal once what differs between worlds (ids, times,
secrets, name prefixes) is normalized. Errors compare by class, status,
code, message and ``errors``.

What only HTTP has (a 413 for a body too large, a 401 for a bad token, a
reused ``Idempotency-Key``) is tested in ``test_client.py``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest
from helpers.targets import TARGETS, World, normalized, outcome, target

PARAMS = [
    pytest.param(name, marks=[pytest.mark.slow] if name == "gunicorn" else [])
    for name in TARGETS
]


@pytest.fixture(scope="module", params=PARAMS)
def on(request, tmp_path_factory):
    """The target under test."""
    with target(request.param, tmp_path_factory.mktemp(request.param)) as made:
        yield made


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The in-process target every other is compared with."""
    with target("python", tmp_path_factory.mktemp("reference")) as made:
        yield made


class Record(list):
    """A scenario's outcomes, each under a label."""

    def __call__(self, label: str, call: Callable[[], Any]) -> Any:
        result = outcome(call)
        self.append((label, result))
        return result[1] if result[0] == "ok" else result


def run(scenario: Callable[[World, Record], None], on) -> list:
    world = World(on)
    record = Record()
    scenario(world, record)
    return normalized(list(record), world.prefix)


def conforms(scenario: Callable[[World, Record], None], on, reference) -> dict:
    """Run ``scenario`` on ``on`` and on ``reference``; return the outcomes by label."""
    expected = run(scenario, reference)
    assert run(scenario, on) == expected
    return dict(expected)


def test_me_and_organizations(on, reference):
    def scenario(w: World, rec: Record) -> None:
        alice, bob = w.user("alice"), w.user("bob")
        rec("me", alice.me)
        for short in ("acme", "bolt", "cork", "dune"):
            rec("create", lambda s=short: alice.create_organization(w.name(s), name=s))
        acme = w.name("acme")
        rec("taken", lambda: alice.create_organization(acme, name="Again"))
        rec("invalid", lambda: alice.create_organization("Not A Slug", name=""))
        rec("me again", alice.me)
        page = rec("first page", lambda: alice.organizations(limit=2))
        rec("next page", lambda: alice.organizations(cursor=page["next_cursor"]))
        rec("every one", alice.iter_organizations)
        rec("one", lambda: alice.organization(acme))
        rec("not a member", lambda: bob.organization(acme))
        rec("no such", lambda: alice.organization(w.name("nope")))
        rec("traversal", lambda: alice.organization(acme + "/../../me"))
        rec("empty slug", lambda: alice.organization(""))
        rec("limit 0", lambda: alice.organizations(limit=0))
        rec("limit 101", lambda: alice.organizations(limit=101))
        rec("tampered cursor", lambda: alice.organizations(cursor="abc.def"))
        rec("rename", lambda: alice.update_organization(acme, name="Acme Inc"))
        rec("rename invalid", lambda: alice.update_organization(acme, name=""))
        rec("rename by a stranger", lambda: bob.update_organization(acme, name="B"))
        rec("delete", lambda: alice.delete_organization(w.name("dune")))
        rec("deleted", lambda: alice.organization(w.name("dune")))
        rec("delete by a stranger", lambda: bob.delete_organization(acme))
        rec("bob's", bob.iter_organizations)
        rec("alice's", alice.iter_organizations)

    seen = conforms(scenario, on, reference)
    assert seen["taken"][2:4] == (409, "conflict")
    assert seen["traversal"][2:5] == (404, "not_found", "Organization not found.")
    assert len(seen["every one"][1]) == 4


def test_members(on, reference):
    def scenario(w: World, rec: Record) -> None:
        alice, bob, carol, dave, erin = map(
            w.user, ("alice", "bob", "carol", "dave", "erin")
        )
        acme = w.name("acme")
        rec("create", lambda: alice.create_organization(acme, name="Acme"))
        for short in ("carol", "dave", "erin"):
            w.thing.add_member(acme, w.name(short))
        page = rec("first page", lambda: alice.members(acme, limit=2))
        rec("next page", lambda: alice.members(acme, cursor=page["next_cursor"]))
        rec("every member", lambda: alice.iter_members(acme))
        rec("by a stranger", lambda: bob.members(acme))
        rec("add", lambda: alice.add_member(acme, w.name("bob")))
        rec("add unknown", lambda: alice.add_member(acme, w.name("ghost")))
        rec("add bad role", lambda: alice.add_member(acme, w.name("bob"), role="king"))
        rec("add a member", lambda: alice.add_member(acme, w.name("carol")))
        rec("add as member", lambda: carol.add_member(acme, w.name("bob")))
        promote = lambda: alice.update_member(acme, w.name("carol"), role="owner")  # noqa: E731
        rec("promote", promote)
        rec("demote", lambda: alice.update_member(acme, w.name("carol"), role="member"))
        rec(
            "last owner",
            lambda: alice.update_member(acme, w.name("alice"), role="member"),
        )
        rec(
            "update unknown",
            lambda: alice.update_member(acme, w.name("zed"), role="member"),
        )
        rec(
            "update bad role",
            lambda: alice.update_member(acme, w.name("dave"), role=""),
        )
        rec(
            "update as member",
            lambda: carol.update_member(acme, w.name("dave"), role="owner"),
        )
        rec("remove as member", lambda: carol.remove_member(acme, w.name("dave")))
        rec("remove", lambda: alice.remove_member(acme, w.name("dave")))
        rec("remove again", lambda: alice.remove_member(acme, w.name("dave")))
        rec("remove a path", lambda: alice.remove_member(acme, "a/../b"))
        rec("remove dots", lambda: alice.remove_member(acme, ".."))
        rec("remove last owner", lambda: alice.remove_member(acme, w.name("alice")))
        rec("leave", lambda: erin.leave_organization(acme))
        rec("leave again", lambda: erin.leave_organization(acme))
        rec("last owner leaves", lambda: alice.leave_organization(acme))
        rec("dave's", dave.me)
        rec("members", lambda: alice.iter_members(acme))

    seen = conforms(scenario, on, reference)
    assert seen["remove dots"][2:5] == (404, "not_found", "'..' is not a member.")
    assert [m["role"] for m in seen["members"][1]] == ["owner", "member"]


def test_invitations(on, reference):
    def scenario(w: World, rec: Record) -> None:
        alice, bob, carol = map(w.user, ("alice", "bob", "carol"))
        acme = w.name("acme")
        rec("create", lambda: alice.create_organization(acme, name="Acme"))
        to_bob = rec("invite", lambda: alice.invite_member(acme, w.name("bob")))
        rec("invite twice", lambda: alice.invite_member(acme, w.name("bob")))
        rec("invite unknown", lambda: alice.invite_member(acme, w.name("ghost")))
        to_carol = rec(
            "invite owner",
            lambda: alice.invite_member(acme, w.name("carol"), role="owner"),
        )
        rec(
            "invite bad role",
            lambda: alice.invite_member(acme, w.name("dave"), role="x"),
        )
        page = rec("first page", lambda: alice.invitations(acme, limit=1))
        rec("next page", lambda: alice.invitations(acme, cursor=page["next_cursor"]))
        rec("every one", lambda: alice.iter_invitations(acme))
        rec("one", lambda: alice.invitation(acme, to_bob["id"]))
        rec("no such", lambda: alice.invitation(acme, 10**9))
        rec("not an id", lambda: alice.invitation(acme, "1/../x"))
        rec("by a stranger", lambda: bob.invitations(acme))
        rec("bob's", lambda: bob.my_invitations())
        rec("every one of bob's", bob.iter_my_invitations)
        rec("accept", lambda: bob.accept_invitation(to_bob["id"]))
        rec("accept again", lambda: bob.accept_invitation(to_bob["id"]))
        rec("decline", lambda: carol.decline_invitation(to_carol["id"]))
        rec("decline again", lambda: carol.decline_invitation(to_carol["id"]))
        again = rec("invite again", lambda: alice.invite_member(acme, w.name("carol")))
        rec("invite as member", lambda: bob.invite_member(acme, w.name("carol")))
        rec("cancel as member", lambda: bob.cancel_invitation(acme, again["id"]))
        rec("cancel", lambda: alice.cancel_invitation(acme, again["id"]))
        rec("cancel again", lambda: alice.cancel_invitation(acme, again["id"]))
        rec("add sends one", lambda: alice.add_member(acme, w.name("carol")))
        rec("pending", lambda: alice.iter_invitations(acme))
        rec("members", lambda: alice.iter_members(acme))

    seen = conforms(scenario, on, reference)
    assert seen["accept"][1]["role"] == "member"


def test_notes(on, reference):
    def scenario(w: World, rec: Record) -> None:
        alice, bob = w.user("alice"), w.user("bob")
        acme, bolt = w.name("acme"), w.name("bolt")
        rec("create", lambda: alice.create_organization(acme, name="Acme"))
        rec("create other", lambda: alice.create_organization(bolt, name="Bolt"))
        created = [
            rec(
                "note",
                lambda i=i: alice.create_note(
                    acme, title=f"n{i}", body="b" * i, tags=["odd" if i % 2 else "even"]
                ),
            )  # fmt: skip
            for i in range(7)
        ]
        first = created[0]
        rec("title only", lambda: alice.create_note(acme, title="bare"))
        rec("invalid", lambda: alice.create_note(acme, title="", tags=["", "x" * 51]))
        rec(
            "too many tags",
            lambda: alice.create_note(
                acme, title="t", tags=list("abcdefghijklmnopqrstu")
            ),
        )
        rec("by a stranger", lambda: bob.create_note(acme, title="t"))
        page = rec("first page", lambda: alice.notes(acme))
        rec("next page", lambda: alice.notes(acme, cursor=page["next_cursor"]))
        rec("tagged page", lambda: alice.notes(acme, tag="odd", limit=2))
        rec("every note", lambda: alice.iter_notes(acme))
        rec("every odd note", lambda: alice.iter_notes(acme, tag="odd"))
        rec("foreign cursor", lambda: alice.notes(bolt, cursor=page["next_cursor"]))
        rec("bad tag", lambda: alice.notes(acme, tag=""))
        rec("read", lambda: alice.note(acme, first["id"]))
        rec("read elsewhere", lambda: alice.note(bolt, first["id"]))
        rec("read by a stranger", lambda: bob.note(acme, first["id"]))
        rec("no such", lambda: alice.note(acme, 10**9))
        for label, bad in (
            ("zero", 0),
            ("path", "1/../../me"),
            ("bool", True),
            ("str", "1"),
        ):
            rec(f"id {label}", lambda bad=bad: alice.note(acme, bad))
        rec("update", lambda: alice.update_note(acme, first["id"], title="changed"))
        rec("update current", lambda: alice.update_note(
            acme, first["id"], if_match=2, tags=["new"]
        ))  # fmt: skip
        rec(
            "update stale",
            lambda: alice.update_note(acme, first["id"], if_match=2, body="x"),
        )
        rec(
            "update any",
            lambda: alice.update_note(acme, first["id"], if_match="*", body="y"),
        )
        rec(
            "update bad if_match",
            lambda: alice.update_note(acme, first["id"], if_match="v1"),
        )
        rec("update invalid", lambda: alice.update_note(acme, first["id"], title=""))
        rec(
            "update unknown field",
            lambda: alice.update_note(acme, first["id"], colour="red"),
        )
        rec("update no such", lambda: alice.update_note(acme, 10**9, title="x"))
        rec("delete stale", lambda: alice.delete_note(acme, first["id"], if_match=1))
        rec("delete current", lambda: alice.delete_note(acme, first["id"], if_match=4))
        rec("delete again", lambda: alice.delete_note(acme, first["id"]))
        rec("delete", lambda: alice.delete_note(acme, created[1]["id"]))
        rec("delete bad id", lambda: alice.delete_note(acme, -1, if_match="x"))
        rec("remaining", lambda: alice.iter_notes(acme))

    seen = conforms(scenario, on, reference)
    assert seen["update stale"][2:4] == (412, "precondition_failed")
    assert len(seen["every note"][1]) == 8


def test_tokens(on, reference):
    def scenario(w: World, rec: Record) -> None:
        alice = w.user("alice")
        rec("list", lambda: alice.tokens())
        made = [
            rec(
                "create",
                lambda i=i: alice.create_token(
                    f"t{i}", scope="read", expires_in_days=30
                ),
            )
            for i in range(3)
        ]
        rec("bad scope", lambda: alice.create_token("x", scope="admin"))
        rec("no name", lambda: alice.create_token(""))
        rec("bad expiry", lambda: alice.create_token("x", expires_in_days=0))
        page = rec("first page", lambda: alice.tokens(limit=2))
        rec("next page", lambda: alice.tokens(cursor=page["next_cursor"]))
        rec("every token", alice.iter_tokens)
        rec("one", lambda: alice.token(made[0]["id"]))
        rec("revoke", lambda: alice.revoke_token(made[0]["id"]))
        rec("revoked", lambda: alice.token(made[0]["id"]))
        rec("revoke again", lambda: alice.revoke_token(made[0]["id"]))
        for label, bad in (("zero", 0), ("path", "1/../../me"), ("bool", False)):
            rec(f"id {label}", lambda bad=bad: alice.token(bad))
            rec(f"revoke id {label}", lambda bad=bad: alice.revoke_token(bad))
        rec("left", alice.iter_tokens)

    seen = conforms(scenario, on, reference)
    assert seen["create"][1]["token"] == "<secret>"
    assert len(seen["left"][1]) == 3


def test_events(on, reference):
    def scenario(w: World, rec: Record) -> None:
        alice, bob, carol = map(w.user, ("alice", "bob", "carol"))
        acme = w.name("acme")
        rec("create", lambda: alice.create_organization(acme, name="Acme"))
        w.thing.add_member(acme, w.name("bob"))
        notes = [alice.create_note(acme, title=f"n{i}") for i in range(4)]
        alice.update_note(acme, notes[0]["id"], title="changed")
        alice.delete_note(acme, notes[1]["id"])
        alice.create_token("ci")
        page = rec("first page", lambda: alice.events(acme, limit=2))
        rec("next page", lambda: alice.events(acme, cursor=page["next_cursor"]))
        rec("every event", lambda: alice.iter_events(acme))
        rec("of notes", lambda: alice.iter_events(acme, type="note.*"))
        rec("by alice", lambda: alice.iter_events(acme, actor=w.name("alice")))
        since = datetime(2000, 1, 1, tzinfo=UTC)
        rec("since", lambda: alice.events(acme, since=since, type="note.updated"))
        rec("since text", lambda: alice.events(acme, since="2000-01-01T00:00:00Z"))
        rec("bad since", lambda: alice.events(acme, since="yesterday"))
        rec("bad type", lambda: alice.events(acme, type="no such type"))
        rec("by a member", lambda: bob.events(acme))
        rec("by a stranger", lambda: carol.events(acme))
        rec("mine", lambda: alice.my_events())
        rec("every one of mine", alice.iter_my_events)

    seen = conforms(scenario, on, reference)
    assert len(seen["every event"][1]) >= 6


def test_webhooks(on, reference):
    def scenario(w: World, rec: Record) -> None:
        alice, bob, carol = map(w.user, ("alice", "bob", "carol"))
        acme = w.name("acme")
        alice.create_organization(acme, name="Acme")
        w.thing.add_member(acme, w.name("bob"))
        made = [
            rec(
                "create",
                lambda i=i: alice.create_webhook(
                    acme, url=f"http://127.0.0.1:9/hook{i}", events=["note.*"]
                ),
            )
            for i in range(4)
        ]
        rec("bad url", lambda: alice.create_webhook(acme, url="ftp://x", events=["*"]))
        rec(
            "no events",
            lambda: alice.create_webhook(acme, url=made[0]["url"], events=[]),
        )
        rec(
            "by a member",
            lambda: bob.create_webhook(acme, url="http://127.0.0.1:9/", events=["*"]),
        )
        rec("by a stranger", lambda: carol.webhooks(acme))
        page = rec("first page", lambda: alice.webhooks(acme, limit=2))
        rec("next page", lambda: alice.webhooks(acme, cursor=page["next_cursor"]))
        rec("every one", lambda: alice.iter_webhooks(acme))
        first = made[0]["id"]
        rec("one", lambda: alice.webhook(acme, first))
        rec(
            "update",
            lambda: alice.update_webhook(acme, first, description="CI", enabled=False),
        )
        rec("bad update", lambda: alice.update_webhook(acme, first, events=["no.such"]))
        rec("rotate", lambda: alice.rotate_webhook_secret(acme, first))
        rec("enable", lambda: alice.update_webhook(acme, first, enabled=True))
        ping = rec("ping", lambda: alice.ping_webhook(acme, first))
        alice.create_note(acme, title="owed")
        rec("deliveries", lambda: alice.deliveries(acme, first, limit=1))
        rec("every delivery", lambda: alice.iter_deliveries(acme, first))
        rec("redeliver", lambda: alice.redeliver(acme, first, ping["id"]))
        rec("redeliver unknown", lambda: alice.redeliver(acme, first, 10**9))
        rec("member's log", lambda: bob.deliveries(acme, first))
        for label, bad in (("zero", 0), ("path", "1/../../me"), ("bool", True)):
            rec(f"id {label}", lambda bad=bad: alice.webhook(acme, bad))
            rec(f"delete id {label}", lambda bad=bad: alice.delete_webhook(acme, bad))
        rec("delete", lambda: alice.delete_webhook(acme, first))
        rec("deleted", lambda: alice.webhook(acme, first))
        rec("left", lambda: alice.iter_webhooks(acme))

    seen = conforms(scenario, on, reference)
    assert seen["create"][1]["secret"] == "<secret>"
    assert "secret" not in seen["one"][1]
    assert seen["by a member"][1] == "Forbidden"
    assert len(seen["left"][1]) == 3
