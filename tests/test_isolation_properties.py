"""Tenant isolation as a property: random organizations, members and notes.

A Hypothesis state machine creates users, organizations, invitations,
memberships (owner or member) and notes over HTTP, in any order, changes
roles, and deletes organizations, and keeps a model of who belongs where.
Every request it makes is checked against the model:

- a user reads and changes exactly the objects of the organizations it
  belongs to: lists show exactly those, and writes elsewhere change nothing;
- nobody becomes a member without accepting an invitation, and nobody
  answers another user's invitation;
- members cannot manage members (403) but may leave, owners can, and the
  last owner stays;
- for someone outside an organization, every endpoint answers exactly as for
  an organization that does not exist: the same status and the same body,
  request id aside;
- a note asked for under another organization of the caller is as missing
  as a note that never existed.

After every step the database itself is compared with the model, so a write
that should not have happened is caught even if no response showed it.
"""

from __future__ import annotations

import itertools

import pytest
from helpers.callers import make_caller
from helpers.databases import ALL_DATABASES
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    precondition,
    rule,
)
from hypothesis.stateful import run_state_machine_as_test as run_machine
from sqlalchemy import select

from mything import MyThing
from mything.db import get_database
from mything.tables import invitations, memberships, notes, organizations, users

pytestmark = pytest.mark.databases(*ALL_DATABASES)

MAX_USERS = 4
MAX_ORGANIZATIONS = 4
MAX_NOTES = 8
#: An id no note has: notes are numbered from 1 in each test database.
MISSING_NOTE = 2**62
TAGS = ["red", "blue"]

RUNS = {
    "sqlite": settings(max_examples=75, stateful_step_count=50, deadline=None),
    "postgresql": settings(max_examples=10, stateful_step_count=30, deadline=None),
}


def without_request_id(response) -> tuple[int, dict]:
    body = response.get_json()
    del body["request_id"]
    return response.status_code, body


class Isolation(RuleBasedStateMachine):
    """Users, organizations and notes, with a model of who may see what."""

    #: The mything under test, set by the test that runs the machine.
    thing: MyThing
    _runs = itertools.count()

    people = Bundle("people")
    slugs = Bundle("slugs")
    note_ids = Bundle("note_ids")

    def __init__(self) -> None:
        super().__init__()
        # Every run has names of its own, so the runs can share a database.
        self.prefix = f"r{next(self._runs)}-"
        self.names = itertools.count()
        self.client = self.thing.flask_app.test_client()
        self.tokens: dict[str, str] = {}
        #: slug -> {user name: role}
        self.members: dict[str, dict[str, str]] = {}
        #: (slug, user name) -> (id, role), for pending invitations
        self.invitations: dict[tuple[str, str], tuple[int, str]] = {}
        #: note id -> (slug, title, tags), for notes not deleted
        self.live_notes: dict[int, tuple[str, str, list[str]]] = {}
        self.ghost = self.fresh("ghost")

    def fresh(self, kind: str) -> str:
        return f"{self.prefix}{kind}{next(self.names)}"

    def request(self, actor: str, method: str, path: str, body=None):
        headers = {"Authorization": f"Bearer {self.tokens[actor]}"}
        return self.client.open(path, method=method, json=body, headers=headers)

    def role(self, actor: str, slug: str) -> str | None:
        return self.members.get(slug, {}).get(actor)

    def owners(self, slug: str) -> list[str]:
        return [name for name, role in self.members[slug].items() if role == "owner"]

    def expect_hidden(
        self, actor: str, method: str, path: str, slug: str, body=None
    ) -> None:
        """Check that ``slug`` answers ``actor`` as if it did not exist.

        ``path`` has a ``{slug}`` placeholder.
        """
        foreign = self.request(actor, method, path.format(slug=slug), body)
        missing = self.request(actor, method, path.format(slug=self.ghost), body)
        assert foreign.status_code == 404
        assert without_request_id(foreign) == without_request_id(missing)

    def expect_missing_note(
        self, actor: str, method: str, slug: str, note_id: int, body=None
    ) -> None:
        """Check that ``note_id`` is, under ``slug``, like a note never made."""
        seen = self.request(actor, method, f"/orgs/{slug}/notes/{note_id}", body)
        missing = self.request(
            actor, method, f"/orgs/{slug}/notes/{MISSING_NOTE}", body
        )
        assert seen.status_code == 404
        assert without_request_id(seen) == without_request_id(missing)

    def note_json(self, note_id: int) -> dict:
        slug, title, tags = self.live_notes[note_id]
        return {"id": note_id, "title": title, "tags": tags}

    # Users and organizations ---------------------------------------------------

    def new_user(self) -> str:
        name = self.fresh("u")
        self.tokens[name] = make_caller(self.thing, name).token
        return name

    @initialize(target=people)
    def first_users(self):
        return multiple(self.new_user(), self.new_user())

    @precondition(lambda self: len(self.tokens) < MAX_USERS)
    @rule(target=people)
    def add_user(self) -> str:
        return self.new_user()

    @precondition(lambda self: len(self.members) < MAX_ORGANIZATIONS)
    @rule(target=slugs, owner=people)
    def create_organization(self, owner: str) -> str:
        slug = self.fresh("o")
        response = self.request(owner, "POST", "/orgs", {"slug": slug, "name": slug})
        assert response.status_code == 201
        self.members[slug] = {owner: "owner"}
        return slug

    # Members -------------------------------------------------------------------

    @rule(
        actor=people,
        slug=slugs,
        user=people,
        role=st.sampled_from(["owner", "member"]),
    )
    def add_member(self, actor: str, slug: str, user: str, role: str) -> None:
        body = {"user": user, "role": role}
        path = f"/orgs/{slug}/members"
        if self.role(actor, slug) is None:
            self.expect_hidden(actor, "POST", "/orgs/{slug}/members", slug, body)
            return
        response = self.request(actor, "POST", path, body)
        if self.role(actor, slug) != "owner":
            assert response.status_code == 403
        elif user in self.members[slug] or (slug, user) in self.invitations:
            assert response.status_code == 409
        else:
            assert response.status_code == 202
            invitation = response.get_json()
            assert (invitation["user"], invitation["role"]) == (user, role)
            self.invitations[slug, user] = (invitation["id"], role)

    @rule(actor=people, slug=slugs, accept=st.booleans())
    def answer_invitation(self, actor: str, slug: str, accept: bool) -> None:
        mine = self.invitations.pop((slug, actor), None)
        if mine is None:
            # Nobody answers an invitation of someone else's.
            for (_, user), (invitation_id, _) in self.invitations.items():
                if user != actor:
                    path = f"/me/invitations/{invitation_id}"
                    declined = self.request(actor, "DELETE", path)
                    accepted = self.request(actor, "POST", f"{path}/accept")
                    assert declined.status_code == accepted.status_code == 404
            return
        invitation_id, role = mine
        if accept:
            path = f"/me/invitations/{invitation_id}/accept"
            response = self.request(actor, "POST", path)
            assert response.status_code == 200
            assert response.get_json()["role"] == role
            self.members[slug][actor] = role
        else:
            response = self.request(actor, "DELETE", f"/me/invitations/{invitation_id}")
            assert response.status_code == 204

    @rule(
        actor=people,
        slug=slugs,
        user=people,
        role=st.sampled_from(["owner", "member"]),
    )
    def change_role(self, actor: str, slug: str, user: str, role: str) -> None:
        body = {"role": role}
        if self.role(actor, slug) is None:
            path = f"/orgs/{{slug}}/members/{user}"
            self.expect_hidden(actor, "PATCH", path, slug, body)
            return
        response = self.request(actor, "PATCH", f"/orgs/{slug}/members/{user}", body)
        if self.role(actor, slug) != "owner":
            assert response.status_code == 403
        elif user not in self.members[slug]:
            assert response.status_code == 404
        elif role == "member" and self.owners(slug) == [user]:
            assert response.status_code == 409
        else:
            assert response.status_code == 200
            assert response.get_json() == {"user": user, "role": role}
            self.members[slug][user] = role

    @rule(actor=people, slug=slugs, user=people)
    def remove_member(self, actor: str, slug: str, user: str) -> None:
        if self.role(actor, slug) is None:
            path = f"/orgs/{{slug}}/members/{user}"
            self.expect_hidden(actor, "DELETE", path, slug)
            return
        response = self.request(actor, "DELETE", f"/orgs/{slug}/members/{user}")
        if self.role(actor, slug) != "owner" and user != actor:
            assert response.status_code == 403
        elif user not in self.members[slug]:
            assert response.status_code == 404
        elif self.owners(slug) == [user]:
            assert response.status_code == 409
        else:
            assert response.status_code == 204
            del self.members[slug][user]

    @rule(actor=people, slug=slugs)
    def delete_organization(self, actor: str, slug: str) -> None:
        if self.role(actor, slug) is None:
            self.expect_hidden(actor, "DELETE", "/orgs/{slug}", slug)
            return
        response = self.request(actor, "DELETE", f"/orgs/{slug}")
        if self.role(actor, slug) != "owner":
            assert response.status_code == 403
            return
        assert response.status_code == 204
        del self.members[slug]
        for note_id, (in_slug, _, _) in list(self.live_notes.items()):
            if in_slug == slug:
                del self.live_notes[note_id]
        for key in [key for key in self.invitations if key[0] == slug]:
            del self.invitations[key]

    # Notes ---------------------------------------------------------------------

    @precondition(lambda self: len(self.live_notes) < MAX_NOTES)
    @rule(
        target=note_ids,
        actor=people,
        slug=slugs,
        tags=st.lists(st.sampled_from(TAGS), unique=True),
    )
    def create_note(self, actor: str, slug: str, tags: list[str]):
        body = {"title": self.fresh("n"), "tags": tags}
        if self.role(actor, slug) is None:
            self.expect_hidden(actor, "POST", "/orgs/{slug}/notes", slug, body)
            return multiple()
        response = self.request(actor, "POST", f"/orgs/{slug}/notes", body)
        assert response.status_code == 201
        note = response.get_json()
        assert note["author"] == actor
        self.live_notes[note["id"]] = (slug, body["title"], tags)
        return note["id"]

    def note_slug(self, note_id: int) -> str | None:
        return self.live_notes[note_id][0] if note_id in self.live_notes else None

    @rule(actor=people, note_id=note_ids, slug=slugs)
    def get_note(self, actor: str, note_id: int, slug: str) -> None:
        path = f"/orgs/{{slug}}/notes/{note_id}"
        if self.role(actor, slug) is None:
            self.expect_hidden(actor, "GET", path, slug)
        elif self.note_slug(note_id) != slug:
            self.expect_missing_note(actor, "GET", slug, note_id)
        else:
            response = self.request(actor, "GET", path.format(slug=slug))
            assert response.status_code == 200
            assert response.get_json().items() >= self.note_json(note_id).items()

    @rule(actor=people, note_id=note_ids, slug=slugs)
    def update_note(self, actor: str, note_id: int, slug: str) -> None:
        body = {"title": self.fresh("t")}
        path = f"/orgs/{{slug}}/notes/{note_id}"
        if self.role(actor, slug) is None:
            self.expect_hidden(actor, "PATCH", path, slug, body)
        elif self.note_slug(note_id) != slug:
            self.expect_missing_note(actor, "PATCH", slug, note_id, body)
        else:
            response = self.request(actor, "PATCH", path.format(slug=slug), body)
            assert response.status_code == 200
            _, _, tags = self.live_notes[note_id]
            self.live_notes[note_id] = (slug, body["title"], tags)
            assert response.get_json().items() >= self.note_json(note_id).items()

    @rule(actor=people, note_id=note_ids, slug=slugs)
    def delete_note(self, actor: str, note_id: int, slug: str) -> None:
        path = f"/orgs/{{slug}}/notes/{note_id}"
        if self.role(actor, slug) is None:
            self.expect_hidden(actor, "DELETE", path, slug)
        elif self.note_slug(note_id) != slug:
            self.expect_missing_note(actor, "DELETE", slug, note_id)
        else:
            response = self.request(actor, "DELETE", path.format(slug=slug))
            assert response.status_code == 204
            del self.live_notes[note_id]

    # Reads ---------------------------------------------------------------------

    @rule(actor=people)
    def list_organizations(self, actor: str) -> None:
        mine = sorted(slug for slug in self.members if self.role(actor, slug))
        page = self.request(actor, "GET", "/orgs?limit=100").get_json()
        assert [(org["slug"], org["role"]) for org in page["items"]] == [
            (slug, self.role(actor, slug)) for slug in mine
        ]
        me = self.request(actor, "GET", "/me").get_json()
        assert me == {"name": actor, "organizations": mine}

    @rule(actor=people, slug=slugs)
    def get_organization(self, actor: str, slug: str) -> None:
        role = self.role(actor, slug)
        if role is None:
            self.expect_hidden(actor, "GET", "/orgs/{slug}", slug)
            return
        response = self.request(actor, "GET", f"/orgs/{slug}")
        assert response.status_code == 200
        assert response.get_json().items() >= {"slug": slug, "role": role}.items()

    @rule(actor=people, slug=slugs)
    def list_members(self, actor: str, slug: str) -> None:
        if self.role(actor, slug) is None:
            path = "/orgs/{slug}/members?limit=100"
            self.expect_hidden(actor, "GET", path, slug)
            return
        response = self.request(actor, "GET", f"/orgs/{slug}/members?limit=100")
        assert response.status_code == 200
        assert response.get_json()["items"] == [
            {"user": user, "role": role}
            for user, role in sorted(self.members[slug].items())
        ]

    @rule(actor=people, slug=slugs, tag=st.none() | st.sampled_from(TAGS))
    def list_notes(self, actor: str, slug: str, tag: str | None) -> None:
        query = "limit=100" + (f"&tag={tag}" if tag else "")
        path = f"/orgs/{{slug}}/notes?{query}"
        if self.role(actor, slug) is None:
            self.expect_hidden(actor, "GET", path, slug)
            return
        response = self.request(actor, "GET", path.format(slug=slug))
        assert response.status_code == 200
        expected = sorted(
            (
                note_id
                for note_id, (in_slug, _, tags) in self.live_notes.items()
                if in_slug == slug and (tag is None or tag in tags)
            ),
            reverse=True,
        )
        items = response.get_json()["items"]
        assert [note["id"] for note in items] == expected
        for note in items:
            assert note.items() >= self.note_json(note["id"]).items()

    @rule(actor=people)
    def everything_outside_is_hidden(self, actor: str) -> None:
        """Try every endpoint on every organization ``actor`` is outside of."""
        outside = [slug for slug in self.members if self.role(actor, slug) is None]
        user = next(iter(self.tokens))
        for slug in outside:
            self.expect_hidden(actor, "GET", "/orgs/{slug}", slug)
            self.expect_hidden(actor, "GET", "/orgs/{slug}/members", slug)
            self.expect_hidden(
                actor, "POST", "/orgs/{slug}/members", slug, {"user": user}
            )
            self.expect_hidden(actor, "DELETE", f"/orgs/{{slug}}/members/{user}", slug)
            member = f"/orgs/{{slug}}/members/{user}"
            self.expect_hidden(actor, "PATCH", member, slug, {"role": "owner"})
            self.expect_hidden(actor, "PATCH", "/orgs/{slug}", slug, {"name": "x"})
            self.expect_hidden(actor, "DELETE", "/orgs/{slug}", slug)
            self.expect_hidden(actor, "GET", "/orgs/{slug}/invitations", slug)
            self.expect_hidden(
                actor, "POST", "/orgs/{slug}/invitations", slug, {"user": user}
            )
            self.expect_hidden(actor, "GET", "/orgs/{slug}/notes", slug)
            self.expect_hidden(
                actor, "POST", "/orgs/{slug}/notes", slug, {"title": "x"}
            )
        for note_id, (slug, _, _) in list(self.live_notes.items()):
            if slug not in outside:
                continue
            path = f"/orgs/{{slug}}/notes/{note_id}"
            self.expect_hidden(actor, "GET", path, slug)
            self.expect_hidden(actor, "PATCH", path, slug, {"title": "x"})
            self.expect_hidden(actor, "DELETE", path, slug)

    @rule(actor=people)
    def members_cannot_manage_members(self, actor: str) -> None:
        for slug, members in self.members.items():
            if members.get(actor) != "member":
                continue
            for user in self.tokens:
                added = self.request(
                    actor, "POST", f"/orgs/{slug}/members", {"user": user}
                )
                assert added.status_code == 403
                if user != actor:
                    path = f"/orgs/{slug}/members/{user}"
                    removed = self.request(actor, "DELETE", path)
                    assert removed.status_code == 403

    # The database itself -------------------------------------------------------

    @invariant()
    def the_database_holds_exactly_the_model(self) -> None:
        stored_members: dict[str, dict[str, str]] = {}
        stored_invitations: dict[tuple[str, str], tuple[int, str]] = {}
        stored_notes: dict[int, tuple[str, str]] = {}
        ours = organizations.c.slug.startswith(self.prefix, autoescape=True)
        with get_database(self.thing.flask_app).engine.connect() as connection:
            for slug, name, role in connection.execute(
                select(organizations.c.slug, users.c.name, memberships.c.role)
                .join(memberships, memberships.c.org_id == organizations.c.id)
                .join(users, users.c.id == memberships.c.user_id)
                .where(ours)
            ):
                stored_members.setdefault(slug, {})[name] = role
            for invitation_id, slug, name, role in connection.execute(
                select(
                    invitations.c.id,
                    organizations.c.slug,
                    users.c.name,
                    invitations.c.role,
                )
                .join(organizations, organizations.c.id == invitations.c.org_id)
                .join(users, users.c.id == invitations.c.user_id)
                .where(ours)
            ):
                stored_invitations[slug, name] = (invitation_id, role)
            for note_id, slug, title in connection.execute(
                select(notes.c.id, organizations.c.slug, notes.c.title)
                .join(organizations, organizations.c.id == notes.c.org_id)
                .where(ours)
            ):
                stored_notes[note_id] = (slug, title)
        assert stored_members == self.members
        assert stored_invitations == self.invitations
        assert stored_notes == {
            note_id: (slug, title)
            for note_id, (slug, title, _) in self.live_notes.items()
        }


def test_each_user_sees_and_changes_exactly_its_organizations(database_uri):
    thing = MyThing({"DATABASE_URI": database_uri, "RATELIMIT_ENABLED": False})
    backend = "sqlite" if database_uri.startswith("sqlite") else "postgresql"
    machine = type("IsolationRun", (Isolation,), {"thing": thing})
    try:
        run_machine(machine, settings=RUNS[backend])
    finally:
        get_database(thing.flask_app).dispose()
