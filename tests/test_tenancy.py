"""Tenancy: nothing of an organization is visible or changeable from outside it.

alice owns acme and bob owns globex. For someone outside an organization,
every organization-scoped endpoint must answer exactly as if the
organization did not exist, and change nothing.
"""

import pytest
from helpers.databases import ALL_DATABASES, stored_rows

pytestmark = pytest.mark.databases(*ALL_DATABASES)

# Every endpoint of the organization-scoped table, with a valid body.
ENDPOINTS = [
    ("get", "/orgs/{slug}", None),
    ("get", "/orgs/{slug}/members", None),
    ("post", "/orgs/{slug}/members", {"user": "bob", "role": "owner"}),
    ("patch", "/orgs/{slug}", {"name": "Defaced"}),
    ("delete", "/orgs/{slug}", None),
    ("patch", "/orgs/{slug}/members/{owner}", {"role": "member"}),
    ("delete", "/orgs/{slug}/members/{owner}", None),
    ("get", "/orgs/{slug}/invitations", None),
    ("post", "/orgs/{slug}/invitations", {"user": "bob", "role": "owner"}),
    ("get", "/orgs/{slug}/notes", None),
    ("post", "/orgs/{slug}/notes", {"title": "Planted"}),
    ("get", "/orgs/{slug}/notes/{note}", None),
    ("patch", "/orgs/{slug}/notes/{note}", {"title": "Defaced"}),
    ("delete", "/orgs/{slug}/notes/{note}", None),
]
ENDPOINT_IDS = [f"{method} {path}" for method, path, _ in ENDPOINTS]


def without_request_id(response):
    body = response.get_json()
    del body["request_id"]
    return response.status_code, body


@pytest.fixture
def notes(client, alice, bob):
    """acme (alice's) and globex (bob's), each with one note; their note ids."""
    ids = {}
    for caller, slug in [(alice, "acme"), (bob, "globex")]:
        org = {"slug": slug, "name": slug.title()}
        client.post("/orgs", json=org, headers=caller.headers)
        note = {"title": f"{slug} secret", "tags": ["shared-tag"]}
        response = client.post(f"/orgs/{slug}/notes", json=note, headers=caller.headers)
        ids[slug] = response.get_json()["id"]
    return ids


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_foreign_organization_looks_like_no_organization(
    app, client, bob, notes, method, path, body
):
    before = stored_rows(app)
    request = getattr(client, method)

    foreign = request(
        path.format(slug="acme", owner="alice", note=notes["acme"]),
        json=body,
        headers=bob.headers,
    )
    missing = request(
        path.format(slug="nope", owner="alice", note=notes["acme"]),
        json=body,
        headers=bob.headers,
    )

    assert foreign.status_code == 404
    assert without_request_id(foreign) == without_request_id(missing)
    assert stored_rows(app) == before


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=ENDPOINT_IDS)
def test_a_removed_member_loses_access_at_once(
    app, client, thing, alice, bob, notes, method, path, body
):
    thing.add_member("acme", "bob")
    client.delete("/orgs/acme/members/bob", headers=alice.headers)
    before = stored_rows(app)

    response = getattr(client, method)(
        path.format(slug="acme", owner="alice", note=notes["acme"]),
        json=body,
        headers=bob.headers,
    )

    assert response.status_code == 404
    assert stored_rows(app) == before


@pytest.mark.parametrize("method", ["get", "patch", "delete"])
@pytest.mark.parametrize("also_member", [False, True])
def test_a_note_of_another_organization_is_not_found(
    app, client, thing, alice, bob, notes, method, also_member
):
    if also_member:
        # Belonging to both organizations does not mix up their notes.
        thing.add_member("globex", "alice")
    before = stored_rows(app)
    request = getattr(client, method)

    foreign = request(
        f"/orgs/acme/notes/{notes['globex']}",
        json={"title": "Defaced"},
        headers=alice.headers,
    )
    missing = request(
        f"/orgs/acme/notes/{notes['globex'] + 1000}",
        json={"title": "Defaced"},
        headers=alice.headers,
    )

    assert foreign.status_code == 404
    assert without_request_id(foreign) == without_request_id(missing)
    assert stored_rows(app) == before


def test_the_organizations_list_shows_only_the_callers(client, alice, bob, notes):
    mine = client.get("/orgs", headers=alice.headers).get_json()
    theirs = client.get("/orgs", headers=bob.headers).get_json()

    assert [org["slug"] for org in mine["items"]] == ["acme"]
    assert [org["slug"] for org in theirs["items"]] == ["globex"]


def test_me_shows_only_the_callers_organizations(client, alice, bob, notes):
    mine = client.get("/me", headers=alice.headers).get_json()
    theirs = client.get("/me", headers=bob.headers).get_json()

    assert mine["organizations"] == ["acme"]
    assert theirs["organizations"] == ["globex"]


@pytest.mark.parametrize("query", [{}, {"tag": "shared-tag"}])
def test_a_notes_list_shows_only_its_organizations_notes(client, alice, notes, query):
    response = client.get("/orgs/acme/notes", query_string=query, headers=alice.headers)

    assert [note["id"] for note in response.get_json()["items"]] == [notes["acme"]]


def test_members_of_one_organization_are_not_listed_in_another(client, alice, notes):
    page = client.get("/orgs/acme/members", headers=alice.headers).get_json()

    assert page["items"] == [{"user": "alice", "role": "owner"}]
