"""``/orgs/<slug>/members``: members see each other, owners manage them."""

import pytest
from helpers.databases import ALL_DATABASES, stored_rows

pytestmark = pytest.mark.databases(*ALL_DATABASES)


@pytest.fixture
def acme(client, alice):
    """The organization acme, owned by alice."""
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    return "/orgs/acme/members"


def members(client, caller, url="/orgs/acme/members"):
    return client.get(url, headers=caller.headers).get_json()["items"]


def test_the_creator_is_the_only_member_of_a_new_organization(client, alice, acme):
    response = client.get(acme, headers=alice.headers)

    assert response.status_code == 200
    assert response.get_json() == {
        "items": [{"user": "alice", "role": "owner"}],
        "next_cursor": None,
    }


def test_an_owner_adds_a_member(client, alice, bob, acme):
    response = client.post(acme, json={"user": "bob"}, headers=alice.headers)

    assert response.status_code == 201
    assert response.get_json() == {"user": "bob", "role": "member"}
    assert members(client, alice) == [
        {"user": "alice", "role": "owner"},
        {"user": "bob", "role": "member"},
    ]
    assert client.get("/orgs/acme", headers=bob.headers).get_json()["role"] == "member"


def test_an_owner_adds_another_owner(client, alice, bob, acme):
    response = client.post(
        acme, json={"user": "bob", "role": "owner"}, headers=alice.headers
    )

    assert response.get_json() == {"user": "bob", "role": "owner"}
    assert client.get("/orgs/acme", headers=bob.headers).get_json()["role"] == "owner"


def test_members_are_listed_by_name(client, thing, alice, acme):
    for name in ["zoe", "bob", "mallory"]:
        thing.create_user(name)
        client.post(acme, json={"user": name}, headers=alice.headers)

    names = [member["user"] for member in members(client, alice)]

    assert names == ["alice", "bob", "mallory", "zoe"]


def test_a_member_sees_the_members(client, alice, bob, acme):
    client.post(acme, json={"user": "bob"}, headers=alice.headers)

    assert members(client, bob) == members(client, alice)


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"user": "nobody"}, ["user"]),
        ({"user": "Not A Name"}, ["user"]),
        ({"user": ""}, ["user"]),
        ({"user": 7}, ["user"]),
        ({}, ["user"]),
        ({"user": "bob", "role": "admin"}, ["role"]),
        ({"user": "bob", "role": None}, ["role"]),
        ({"user": "No One", "role": "king"}, ["role", "user"]),
    ],
)
def test_an_invalid_member_is_refused(app, client, alice, bob, acme, body, paths):
    before = stored_rows(app)

    response = client.post(acme, json=body, headers=alice.headers)

    assert response.status_code == 400
    error = response.get_json()
    assert error["code"] == "validation_error"
    assert sorted(item["path"] for item in error["errors"]) == paths
    assert stored_rows(app) == before


def test_adding_a_member_twice_is_a_conflict(app, client, alice, bob, acme):
    client.post(acme, json={"user": "bob"}, headers=alice.headers)
    before = stored_rows(app)

    response = client.post(
        acme, json={"user": "bob", "role": "owner"}, headers=alice.headers
    )

    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert stored_rows(app) == before


def test_an_owner_removes_a_member(client, alice, bob, acme):
    client.post(acme, json={"user": "bob"}, headers=alice.headers)

    response = client.delete(f"{acme}/bob", headers=alice.headers)

    assert response.status_code == 204
    assert response.data == b""
    assert members(client, alice) == [{"user": "alice", "role": "owner"}]
    assert client.get("/orgs/acme", headers=bob.headers).status_code == 404


def test_removing_someone_who_is_not_a_member_is_not_found(app, client, alice, bob):
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    before = stored_rows(app)

    response = client.delete("/orgs/acme/members/bob", headers=alice.headers)

    assert response.status_code == 404
    assert stored_rows(app) == before


def test_the_last_owner_cannot_be_removed(app, client, alice, bob, acme):
    client.post(acme, json={"user": "bob"}, headers=alice.headers)
    before = stored_rows(app)

    response = client.delete(f"{acme}/alice", headers=alice.headers)

    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert stored_rows(app) == before


def test_an_owner_can_leave_when_another_owner_remains(client, alice, bob, acme):
    client.post(acme, json={"user": "bob", "role": "owner"}, headers=alice.headers)

    response = client.delete(f"{acme}/alice", headers=alice.headers)

    assert response.status_code == 204
    assert members(client, bob) == [{"user": "bob", "role": "owner"}]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/orgs/acme/members", {"user": "carol"}),
        ("post", "/orgs/acme/members", {"user": "bob", "role": "owner"}),
        ("delete", "/orgs/acme/members/carol", None),
        ("delete", "/orgs/acme/members/alice", None),
        ("delete", "/orgs/acme/members/bob", None),
    ],
)
def test_a_member_who_is_not_an_owner_cannot_manage_members(
    app, client, thing, alice, bob, acme, method, path, body
):
    thing.create_user("carol")
    client.post(acme, json={"user": "bob"}, headers=alice.headers)
    client.post(acme, json={"user": "carol"}, headers=alice.headers)
    before = stored_rows(app)

    response = getattr(client, method)(path, json=body, headers=bob.headers)

    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert stored_rows(app) == before
