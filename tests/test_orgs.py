"""``/orgs`` and ``/me``: creating organizations and finding your own."""

import re
from datetime import datetime, timedelta

import pytest
from helpers.databases import ALL_DATABASES, stored_rows

pytestmark = pytest.mark.databases(*ALL_DATABASES)

UTC_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")


def create_organization(client, caller, slug, name=None):
    body = {"slug": slug, "name": name or slug.title()}
    return client.post("/orgs", json=body, headers=caller.headers)


def test_creating_an_organization_makes_the_caller_its_owner(client, alice):
    response = create_organization(client, alice, "acme", "Acme Inc.")

    assert response.status_code == 201
    body = response.get_json()
    assert body == {
        "slug": "acme",
        "name": "Acme Inc.",
        "role": "owner",
        "created_at": body["created_at"],
    }
    assert UTC_TIMESTAMP.fullmatch(body["created_at"])


def test_created_at_is_an_iso_8601_utc_timestamp(client, alice):
    response = create_organization(client, alice, "acme")

    created_at = datetime.fromisoformat(response.get_json()["created_at"])
    assert created_at.utcoffset() == timedelta(0)


def test_the_location_of_a_new_organization_is_its_absolute_url(client, alice):
    response = create_organization(client, alice, "acme")

    location = response.headers["Location"]
    assert location == "http://localhost/orgs/acme"
    shown = client.get(location, headers=alice.headers)
    assert shown.status_code == 200
    assert shown.get_json() == response.get_json()


def test_extra_keys_of_a_new_organization_are_ignored(client, alice):
    body = {"slug": "acme", "name": "Acme", "role": "member", "id": 7}

    response = client.post("/orgs", json=body, headers=alice.headers)

    assert response.status_code == 201
    assert set(response.get_json()) == {"slug", "name", "role", "created_at"}
    assert response.get_json()["role"] == "owner"


@pytest.mark.parametrize("caller", ["alice", "bob"])
def test_a_taken_slug_is_a_conflict(app, client, alice, bob, caller):
    create_organization(client, alice, "acme")
    before = stored_rows(app)

    response = create_organization(client, {"alice": alice, "bob": bob}[caller], "acme")

    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert stored_rows(app) == before


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"slug": "my org", "name": "Mine"}, ["slug"]),
        ({"slug": "a" * 300, "name": "Long"}, ["slug"]),
        ({"slug": "a" * 64, "name": "Long"}, ["slug"]),
        ({"slug": "Acme", "name": "Acme"}, ["slug"]),
        ({"slug": "-acme", "name": "Acme"}, ["slug"]),
        ({"slug": "acme/x", "name": "Acme"}, ["slug"]),
        ({"slug": 42, "name": "Acme"}, ["slug"]),
        ({"slug": "", "name": "Acme"}, ["slug"]),
        ({"name": "Acme"}, ["slug"]),
        ({"slug": "acme"}, ["name"]),
        ({"slug": "acme", "name": ""}, ["name"]),
        ({"slug": "acme", "name": "n" * 201}, ["name"]),
        ({"slug": "acme", "name": None}, ["name"]),
        ({"slug": "my org", "name": ""}, ["name", "slug"]),
    ],
)
def test_an_invalid_organization_is_refused_with_every_error(
    app, client, alice, body, paths
):
    create_organization(client, alice, "existing")
    before = stored_rows(app)

    response = client.post("/orgs", json=body, headers=alice.headers)

    assert response.status_code == 400
    error = response.get_json()
    assert error["code"] == "validation_error"
    assert sorted(item["path"] for item in error["errors"]) == paths
    assert stored_rows(app) == before


@pytest.mark.parametrize("slug", ["a", "0", "a-b-c", "a" * 63, "9lives"])
def test_slugs_at_the_limits_are_accepted(client, alice, slug):
    response = create_organization(client, alice, slug, "Name")

    assert response.status_code == 201
    assert response.get_json()["slug"] == slug


def test_an_organization_name_may_be_200_characters(client, alice):
    response = create_organization(client, alice, "acme", "n" * 200)

    assert response.get_json()["name"] == "n" * 200


def test_an_organization_is_shown_to_its_members(client, alice):
    created = create_organization(client, alice, "acme").get_json()

    response = client.get("/orgs/acme", headers=alice.headers)

    assert response.status_code == 200
    assert response.get_json() == created


def test_an_organization_shows_the_role_of_the_caller(client, thing, alice, bob):
    create_organization(client, alice, "acme")
    thing.add_member("acme", "bob")

    response = client.get("/orgs/acme", headers=bob.headers)

    assert response.get_json()["role"] == "member"


def test_an_unknown_organization_is_not_found(client, alice):
    response = client.get("/orgs/nope", headers=alice.headers)

    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


def test_organizations_are_listed_by_slug_with_the_callers_role(
    client, thing, alice, bob
):
    for slug in ["initech", "acme", "hooli"]:
        create_organization(client, alice, slug)
    create_organization(client, bob, "globex")
    thing.add_member("globex", "alice")

    response = client.get("/orgs", headers=alice.headers)

    page = response.get_json()
    assert [(item["slug"], item["role"]) for item in page["items"]] == [
        ("acme", "owner"),
        ("globex", "member"),
        ("hooli", "owner"),
        ("initech", "owner"),
    ]
    assert page["next_cursor"] is None
    assert "Link" not in response.headers


def test_the_organizations_list_items_equal_the_organizations(client, alice):
    created = create_organization(client, alice, "acme").get_json()

    page = client.get("/orgs", headers=alice.headers).get_json()

    assert page["items"] == [created]


def test_a_new_user_has_no_organizations(client, alice):
    page = client.get("/orgs", headers=alice.headers).get_json()
    me = client.get("/me", headers=alice.headers).get_json()

    assert page == {"items": [], "next_cursor": None}
    assert me == {"name": "alice", "organizations": []}


def test_me_names_the_caller_and_its_organizations(client, thing, alice, bob):
    create_organization(client, alice, "initech")
    create_organization(client, bob, "globex")
    thing.add_member("globex", "alice")

    response = client.get("/me", headers=alice.headers)

    assert response.status_code == 200
    assert response.get_json() == {
        "name": "alice",
        "organizations": ["globex", "initech"],
    }


# Renaming and deleting -----------------------------------------------------


def test_an_owner_renames_an_organization_and_its_slug_stays(client, alice):
    created = create_organization(client, alice, "acme").get_json()

    response = client.patch(
        "/orgs/acme", json={"name": "Acme & Sons"}, headers=alice.headers
    )

    assert response.status_code == 200
    assert response.get_json() == {**created, "name": "Acme & Sons"}
    assert client.get("/orgs/acme", headers=alice.headers).get_json()["name"] == (
        "Acme & Sons"
    )


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"name": ""}, ["name"]),
        ({"name": "x" * 201}, ["name"]),
        ({"slug": "other", "name": "Other"}, ["slug"]),
        ({"slug": "other"}, ["name", "slug"]),
        ({}, ["name"]),
    ],
)
def test_an_invalid_rename_is_refused(app, client, alice, body, paths):
    create_organization(client, alice, "acme")
    before = stored_rows(app)

    response = client.patch("/orgs/acme", json=body, headers=alice.headers)

    assert response.status_code == 400
    error = response.get_json()
    assert error["code"] == "validation_error"
    assert sorted(item["path"] for item in error["errors"]) == paths
    assert stored_rows(app) == before


def test_deleting_an_organization_takes_everything_in_it(
    app, client, thing, alice, bob
):
    create_organization(client, alice, "acme")
    create_organization(client, alice, "globex")
    thing.add_member("acme", "bob")
    thing.create_user("carol")
    api = thing.as_user("alice")
    api.invite_member("acme", "carol")
    note = api.create_note("acme", title="Plan", tags=["x", "y"])
    kept = api.create_note("globex", title="Kept", tags=["x"])

    response = client.delete("/orgs/acme", headers=alice.headers)

    assert response.status_code == 204
    assert client.get("/orgs/acme", headers=alice.headers).status_code == 404
    assert client.get("/me", headers=bob.headers).get_json()["organizations"] == []
    assert thing.as_user("carol").my_invitations()["items"] == []
    rows = stored_rows(app)
    assert [row.slug for row in rows["mything_organizations"]] == ["globex"]
    assert [row.id for row in rows["mything_notes"]] == [kept["id"]]
    assert {row.note_id for row in rows["mything_note_tags"]} == {kept["id"]}
    assert rows["mything_invitations"] == []
    assert note["id"] != kept["id"]


def test_the_slug_of_a_deleted_organization_can_be_used_again(client, alice, bob):
    create_organization(client, alice, "acme")
    client.post("/orgs/acme/notes", json={"title": "Old"}, headers=alice.headers)
    client.delete("/orgs/acme", headers=alice.headers)

    response = create_organization(client, bob, "acme", "New Acme")

    assert response.status_code == 201
    assert response.get_json()["name"] == "New Acme"
    notes = client.get("/orgs/acme/notes", headers=bob.headers).get_json()
    assert notes["items"] == []
    assert client.get("/orgs/acme", headers=alice.headers).status_code == 404


def test_renaming_and_deleting_from_python(thing, alice):
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")

    renamed = api.update_organization("acme", name="Renamed")
    assert renamed == api.organization("acme")
    assert renamed["name"] == "Renamed"
    assert api.delete_organization("acme") is None
    assert api.organizations()["items"] == []
