"""``/orgs/<slug>/members``: members see each other and leave, owners manage them."""

import pytest
from helpers.databases import ALL_DATABASES, stored_rows

pytestmark = pytest.mark.databases(*ALL_DATABASES)


@pytest.fixture
def acme(client, alice):
    """The organization acme, owned by alice."""
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    return "/orgs/acme/members"


@pytest.fixture
def direct(app):
    """DIRECT_MEMBERSHIP on: adding a member adds them at once."""
    app.config["DIRECT_MEMBERSHIP"] = True


def members(client, caller, url="/orgs/acme/members"):
    return client.get(url, headers=caller.headers).get_json()["items"]


def test_adding_a_member_invites_them_until_they_accept(client, alice, bob, acme):
    response = client.post(acme, json={"user": "bob"}, headers=alice.headers)

    assert response.status_code == 202
    invitation = response.get_json()
    assert (
        invitation.items()
        >= {
            "organization": "acme",
            "organization_name": "Acme",
            "user": "bob",
            "role": "member",
            "invited_by": "alice",
        }.items()
    )
    assert response.headers["Location"].endswith(
        f"/orgs/acme/invitations/{invitation['id']}"
    )
    assert members(client, alice) == [{"user": "alice", "role": "owner"}]
    assert client.get("/orgs/acme", headers=bob.headers).status_code == 404
    assert client.get("/me", headers=bob.headers).get_json()["organizations"] == []

    accepted = client.post(
        f"/me/invitations/{invitation['id']}/accept", headers=bob.headers
    )

    assert accepted.status_code == 200
    assert members(client, bob) == [
        {"user": "alice", "role": "owner"},
        {"user": "bob", "role": "member"},
    ]


def test_the_creator_is_the_only_member_of_a_new_organization(client, alice, acme):
    response = client.get(acme, headers=alice.headers)

    assert response.status_code == 200
    assert response.get_json() == {
        "items": [{"user": "alice", "role": "owner"}],
        "next_cursor": None,
    }


def test_with_direct_membership_an_owner_adds_a_member(
    client, alice, bob, acme, direct
):
    response = client.post(acme, json={"user": "bob"}, headers=alice.headers)

    assert response.status_code == 201
    assert response.get_json() == {"user": "bob", "role": "member"}
    assert members(client, alice) == [
        {"user": "alice", "role": "owner"},
        {"user": "bob", "role": "member"},
    ]
    assert client.get("/orgs/acme", headers=bob.headers).get_json()["role"] == "member"


def test_with_direct_membership_an_owner_adds_another_owner(
    client, alice, bob, acme, direct
):
    response = client.post(
        acme, json={"user": "bob", "role": "owner"}, headers=alice.headers
    )

    assert response.get_json() == {"user": "bob", "role": "owner"}
    assert client.get("/orgs/acme", headers=bob.headers).get_json()["role"] == "owner"


def test_members_are_listed_by_name(client, thing, alice, acme):
    for name in ["zoe", "bob", "mallory"]:
        thing.create_user(name)
        thing.add_member("acme", name)

    names = [member["user"] for member in members(client, alice)]

    assert names == ["alice", "bob", "mallory", "zoe"]


def test_a_member_sees_the_members(client, thing, alice, bob, acme):
    thing.add_member("acme", "bob")

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
        ({"user": "x" * 255, "role": "king"}, ["role", "user"]),
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


@pytest.mark.parametrize("direct_membership", [False, True])
def test_adding_a_member_twice_is_a_conflict(
    app, client, thing, alice, bob, acme, direct_membership
):
    app.config["DIRECT_MEMBERSHIP"] = direct_membership
    thing.add_member("acme", "bob")
    before = stored_rows(app)

    response = client.post(
        acme, json={"user": "bob", "role": "owner"}, headers=alice.headers
    )

    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert stored_rows(app) == before


def test_an_owner_removes_a_member(client, thing, alice, bob, acme):
    thing.add_member("acme", "bob")

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


def test_the_last_owner_cannot_be_removed(app, client, thing, alice, bob, acme):
    thing.add_member("acme", "bob")
    before = stored_rows(app)

    response = client.delete(f"{acme}/alice", headers=alice.headers)

    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert stored_rows(app) == before


def test_an_owner_can_leave_when_another_owner_remains(client, thing, alice, bob, acme):
    thing.add_member("acme", "bob", role="owner")

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
        ("patch", "/orgs/acme/members/carol", {"role": "owner"}),
        ("patch", "/orgs/acme/members/bob", {"role": "owner"}),
        ("patch", "/orgs/acme/members/alice", {"role": "member"}),
    ],
)
def test_a_member_who_is_not_an_owner_cannot_manage_members(
    app, client, thing, alice, bob, acme, method, path, body
):
    thing.create_user("carol")
    thing.add_member("acme", "bob")
    thing.add_member("acme", "carol")
    before = stored_rows(app)

    response = getattr(client, method)(path, json=body, headers=bob.headers)

    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert stored_rows(app) == before


# Roles ---------------------------------------------------------------------


def test_an_owner_makes_a_member_an_owner(client, thing, alice, bob, acme):
    thing.add_member("acme", "bob")

    response = client.patch(
        f"{acme}/bob", json={"role": "owner"}, headers=alice.headers
    )

    assert response.status_code == 200
    assert response.get_json() == {"user": "bob", "role": "owner"}
    assert client.get("/orgs/acme", headers=bob.headers).get_json()["role"] == "owner"


def test_an_owner_demotes_another_owner(client, thing, alice, bob, acme):
    thing.add_member("acme", "bob", role="owner")

    response = client.patch(
        f"{acme}/bob", json={"role": "member"}, headers=alice.headers
    )

    assert response.get_json() == {"user": "bob", "role": "member"}
    assert members(client, alice) == [
        {"user": "alice", "role": "owner"},
        {"user": "bob", "role": "member"},
    ]


def test_giving_a_member_the_role_they_have_changes_nothing(
    app, client, thing, alice, bob, acme
):
    thing.add_member("acme", "bob")
    before = stored_rows(app)

    response = client.patch(
        f"{acme}/bob", json={"role": "member"}, headers=alice.headers
    )

    assert response.status_code == 200
    assert response.get_json() == {"user": "bob", "role": "member"}
    assert stored_rows(app) == before


def test_the_last_owner_cannot_be_demoted(app, client, thing, alice, bob, acme):
    thing.add_member("acme", "bob")
    before = stored_rows(app)

    response = client.patch(
        f"{acme}/alice", json={"role": "member"}, headers=alice.headers
    )

    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert stored_rows(app) == before


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({}, ["role"]),
        ({"role": "admin"}, ["role"]),
        ({"role": "Owner"}, ["role"]),
        ({"role": None}, ["role"]),
        ({"role": "owner", "user": "carol"}, ["user"]),
    ],
)
def test_an_invalid_role_change_is_refused(
    app, client, thing, alice, bob, acme, body, paths
):
    thing.add_member("acme", "bob")
    before = stored_rows(app)

    response = client.patch(f"{acme}/bob", json=body, headers=alice.headers)

    assert response.status_code == 400
    error = response.get_json()
    assert error["code"] == "validation_error"
    assert sorted(item["path"] for item in error["errors"]) == paths
    assert stored_rows(app) == before


def test_changing_the_role_of_someone_who_is_not_a_member_is_not_found(
    app, client, alice, bob, acme
):
    before = stored_rows(app)

    response = client.patch(
        f"{acme}/bob", json={"role": "owner"}, headers=alice.headers
    )

    assert response.status_code == 404
    assert stored_rows(app) == before


# Leaving -------------------------------------------------------------------


def test_a_member_leaves(client, thing, alice, bob, acme):
    thing.add_member("acme", "bob")

    response = client.delete(f"{acme}/bob", headers=bob.headers)

    assert response.status_code == 204
    assert client.get("/orgs/acme", headers=bob.headers).status_code == 404
    assert client.get("/me", headers=bob.headers).get_json()["organizations"] == []
    assert members(client, alice) == [{"user": "alice", "role": "owner"}]


def test_the_last_owner_cannot_leave(app, client, thing, alice, bob, acme):
    thing.add_member("acme", "bob")
    before = stored_rows(app)

    response = client.delete(f"{acme}/alice", headers=alice.headers)

    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert stored_rows(app) == before


def test_a_sole_owner_leaves_once_another_owner_is_made(
    client, thing, alice, bob, acme
):
    thing.add_member("acme", "bob")
    client.patch(f"{acme}/bob", json={"role": "owner"}, headers=alice.headers)

    response = client.delete(f"{acme}/alice", headers=alice.headers)

    assert response.status_code == 204
    assert members(client, bob) == [{"user": "bob", "role": "owner"}]


def test_leaving_from_python_is_removing_oneself(client, thing, alice, bob, acme):
    thing.add_member("acme", "bob")

    assert thing.as_user("bob").leave_organization("acme") is None

    assert members(client, alice) == [{"user": "alice", "role": "owner"}]
