"""Random sequences of operations, in process and over HTTP side by side.

Each example is a list of operations by two users on a few organizations
and notes. It runs against the in-process Python API and against a remote
target (the client over ``WSGITransport``, or against gunicorn on
PostgreSQL), each in a world of its own; every outcome, and the final state
that each user can see, must be equal once normalized.
"""

from __future__ import annotations

import functools
from typing import Any

import pytest
from helpers.targets import World, normalized, outcome, target
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

USERS = ("alice", "bob")
SLUGS = ("acme", "bolt")
TAGS = st.lists(st.sampled_from(["red", "blue", ""]), max_size=2)

operations = st.one_of(
    st.tuples(st.just("create_organization"), st.sampled_from(SLUGS)),
    st.tuples(st.just("delete_organization"), st.sampled_from(SLUGS)),
    st.tuples(st.just("add_member"), st.sampled_from(SLUGS)),
    st.tuples(st.just("accept"), st.integers(0, 2)),
    st.tuples(st.just("leave_organization"), st.sampled_from(SLUGS)),
    st.tuples(
        st.just("create_note"), st.sampled_from(SLUGS), st.text(max_size=3), TAGS
    ),
    st.tuples(st.just("update_note"), st.integers(0, 4), st.integers(0, 3), TAGS),
    st.tuples(st.just("delete_note"), st.integers(0, 4), st.integers(0, 3)),
    st.tuples(st.just("notes"), st.sampled_from(SLUGS), st.integers(0, 3)),
)
steps = st.lists(st.tuples(st.sampled_from(USERS), operations), max_size=12)


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    with target("python", tmp_path_factory.mktemp("local")) as made:
        yield made


@pytest.fixture(
    scope="module", params=["wsgi", pytest.param("gunicorn", marks=pytest.mark.slow)]
)
def remote(request, tmp_path_factory):
    with target(request.param, tmp_path_factory.mktemp(request.param)) as made:
        yield made


def play(on, script: list) -> list:
    """Run ``script`` in a new world on ``on``; return its normalized record."""
    world = World(on)
    apis = {short: world.user(short) for short in USERS}
    created: list[dict[str, Any]] = []
    invitations: list[dict[str, Any]] = []
    record = []

    def note(index: int) -> tuple[str, int]:
        found = created[index % len(created)] if created else None
        return (found["slug"], found["id"]) if found else (world.name("acme"), 1)

    def act(who: str, name: str, *args: Any) -> Any:
        api = apis[who]
        other = world.name("bob" if who == "alice" else "alice")
        if name == "create_organization":
            return api.create_organization(world.name(args[0]), name=args[0])
        if name == "delete_organization":
            return api.delete_organization(world.name(args[0]))
        if name == "add_member":
            invitation = api.add_member(world.name(args[0]), other)
            invitations.append(invitation)
            return invitation
        if name == "accept":
            ids = [invitation["id"] for invitation in invitations] or [10**9]
            return api.accept_invitation(ids[args[0] % len(ids)])
        if name == "leave_organization":
            return api.leave_organization(world.name(args[0]))
        if name == "create_note":
            slug = world.name(args[0])
            made = api.create_note(slug, title=args[1], tags=args[2])
            created.append({"slug": slug, "id": made["id"]})
            return made
        if name == "update_note":
            slug, id_ = note(args[0])
            return api.update_note(slug, id_, if_match=args[1] or None, tags=args[2])
        if name == "delete_note":
            slug, id_ = note(args[0])
            return api.delete_note(slug, id_, if_match=args[1] or None)
        return api.notes(world.name(args[0]), limit=args[1] or None)

    for who, (name, *args) in script:
        record.append(outcome(functools.partial(act, who, name, *args)))
    for api in apis.values():
        record.append(outcome(api.me))
        record.append(outcome(api.iter_organizations))
        record.append(outcome(api.iter_my_invitations))
        for slug in map(world.name, SLUGS):
            record.append(outcome(functools.partial(api.iter_notes, slug)))
            record.append(outcome(functools.partial(api.iter_members, slug)))
    return normalized(record, world.prefix)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(script=steps)
def test_local_and_remote_agree_on_every_step_and_the_final_state(
    local, remote, script
):
    assert play(remote, script) == play(local, script)
