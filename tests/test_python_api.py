"""The Python API: the same results, validation, scoping and errors as HTTP.

Each test does the same thing both ways and compares: Python values after a
JSON round trip with HTTP bodies, and ``ApiException`` with HTTP error bodies.
"""

import inspect
import json
import re
from pathlib import Path

import pytest
from helpers.databases import ALL_DATABASES, stored_rows

from mything import ApiException, create_app
from mything import thing as thing_module

pytestmark = pytest.mark.databases(*ALL_DATABASES)


def round_trip(value):
    return json.loads(json.dumps(value))


def error_body(response):
    body = response.get_json()
    del body["request_id"]
    return body


def call(api, note_id, method, args, kwargs):
    args = [note_id if arg == "NOTE" else arg for arg in args]
    return getattr(api, method)(*args, **kwargs)


def request(client, headers, note_id, verb, path, body):
    path = path.replace("NOTE", str(note_id))
    return getattr(client, verb)(path, json=body, headers=headers)


@pytest.fixture
def api(thing, alice, bob):
    """alice's Python API; she owns acme, with bob as a member and two notes."""
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    thing.add_member("acme", "bob")
    api.create_note("acme", title="first", body="one", tags=["red"])
    api.create_note("acme", title="second", tags=["blue", "red"])
    return api


@pytest.fixture
def note_id(api):
    return api.notes("acme", limit=1)["items"][0]["id"]


@pytest.mark.parametrize(
    ("method", "args", "kwargs", "path"),
    [
        ("me", (), {}, "/me"),
        ("organizations", (), {}, "/orgs"),
        ("organizations", (), {"limit": 1}, "/orgs?limit=1"),
        ("organization", ("acme",), {}, "/orgs/acme"),
        ("invitations", ("acme",), {}, "/orgs/acme/invitations"),
        ("my_invitations", (), {}, "/me/invitations"),
        ("members", ("acme",), {}, "/orgs/acme/members"),
        ("members", ("acme",), {"limit": 1}, "/orgs/acme/members?limit=1"),
        ("notes", ("acme",), {}, "/orgs/acme/notes"),
        ("notes", ("acme",), {"limit": 1}, "/orgs/acme/notes?limit=1"),
        ("notes", ("acme",), {"tag": "blue"}, "/orgs/acme/notes?tag=blue"),
        ("note", ("acme", "NOTE"), {}, "/orgs/acme/notes/NOTE"),
    ],
)
def test_reads_equal_the_http_bodies(
    client, alice, api, note_id, method, args, kwargs, path
):
    value = call(api, note_id, method, args, kwargs)

    response = request(client, alice.headers, note_id, "get", path, None)
    assert response.status_code == 200
    assert round_trip(value) == response.get_json()


def test_the_cursor_of_a_python_page_continues_over_http(client, alice, api):
    first = api.notes("acme", limit=1)

    response = client.get(
        "/orgs/acme/notes",
        query_string={"limit": 1, "cursor": first["next_cursor"]},
        headers=alice.headers,
    )

    assert [note["title"] for note in response.get_json()["items"]] == ["first"]
    assert api.notes("acme", limit=1, cursor=first["next_cursor"]) == (
        response.get_json()
    )


def test_a_created_organization_equals_its_http_body(client, thing, alice):
    created = thing.as_user("alice").create_organization("acme", name="Acme")

    response = client.get("/orgs/acme", headers=alice.headers)

    assert round_trip(created) == response.get_json()


def test_a_created_note_equals_its_http_body(client, alice, api):
    created = api.create_note("acme", title="Plan", body="b", tags=["x", "y"])

    response = client.get(f"/orgs/acme/notes/{created['id']}", headers=alice.headers)

    assert round_trip(created) == response.get_json()


def test_a_note_has_the_same_defaults_both_ways(client, alice, api):
    created = api.create_note("acme", title="Plan")

    response = client.post(
        "/orgs/acme/notes", json={"title": "Plan"}, headers=alice.headers
    )

    http = response.get_json()
    assert (
        (created["body"], created["tags"]) == (http["body"], http["tags"]) == ("", [])
    )


def test_an_updated_note_equals_its_http_body(client, alice, api, note_id):
    before = api.note("acme", note_id)

    updated = api.update_note("acme", note_id, title="Renamed")

    response = client.get(f"/orgs/acme/notes/{note_id}", headers=alice.headers)
    assert round_trip(updated) == response.get_json()
    assert updated == {
        **before,
        "title": "Renamed",
        "version": before["version"] + 1,
        "updated_at": updated["updated_at"],
    }


def test_an_invitation_sent_by_adding_a_member_equals_its_http_body(
    client, thing, alice, api
):
    thing.create_user("carol")

    invited = api.add_member("acme", "carol", role="owner")

    response = client.get(
        f"/orgs/acme/invitations/{invited['id']}", headers=alice.headers
    )
    assert (
        round_trip(invited)
        == response.get_json()
        == api.invitation("acme", invited["id"])
    )
    assert invited["role"] == "owner"


def test_with_direct_membership_an_added_member_equals_the_http_body(
    client, thing, alice, api
):
    thing.flask_app.config["DIRECT_MEMBERSHIP"] = True
    thing.create_user("carol")
    thing.create_user("dave")

    added = api.add_member("acme", "carol", role="owner")

    response = client.post(
        "/orgs/acme/members",
        json={"user": "dave", "role": "owner"},
        headers=alice.headers,
    )
    assert response.status_code == 201
    assert round_trip(added) == {**response.get_json(), "user": "carol"}
    assert added in api.members("acme")["items"]


def test_a_removed_member_is_gone_over_http(client, alice, bob, api):
    assert api.remove_member("acme", "bob") is None

    response = client.get("/orgs/acme", headers=bob.headers)

    assert response.status_code == 404


def test_a_deleted_note_is_gone_over_http(client, alice, api, note_id):
    assert api.delete_note("acme", note_id) is None

    response = client.get(f"/orgs/acme/notes/{note_id}", headers=alice.headers)

    assert response.status_code == 404


def test_a_note_created_over_http_is_read_from_python(client, alice, api):
    response = client.post(
        "/orgs/acme/notes", json={"title": "HTTP", "tags": ["z"]}, headers=alice.headers
    )

    note = api.note("acme", response.get_json()["id"])

    assert round_trip(note) == response.get_json()


# A Python call made by alice, and the same request over HTTP.
FAILURES = {
    "slug-and-name": (
        ("create_organization", ["my org"], {"name": ""}),
        ("post", "/orgs", {"slug": "my org", "name": ""}),
    ),
    "long-slug": (
        ("create_organization", ["a" * 300], {"name": "Long"}),
        ("post", "/orgs", {"slug": "a" * 300, "name": "Long"}),
    ),
    "taken-slug": (
        ("create_organization", ["acme"], {"name": "Taken"}),
        ("post", "/orgs", {"slug": "acme", "name": "Taken"}),
    ),
    "empty-title": (
        ("create_note", ["acme"], {"title": ""}),
        ("post", "/orgs/acme/notes", {"title": ""}),
    ),
    "long-title-many-tags": (
        (
            "create_note",
            ["acme"],
            {"title": "t" * 201, "tags": list("abcdefghijklmnopqrstu")},
        ),
        (
            "post",
            "/orgs/acme/notes",
            {"title": "t" * 201, "tags": list("abcdefghijklmnopqrstu")},
        ),
    ),
    "bad-body-and-tags": (
        ("create_note", ["acme"], {"title": "t", "body": 5, "tags": ["ok", 5, ""]}),
        ("post", "/orgs/acme/notes", {"title": "t", "body": 5, "tags": ["ok", 5, ""]}),
    ),
    "note-in-unknown-org": (
        ("create_note", ["nope"], {"title": "t"}),
        ("post", "/orgs/nope/notes", {"title": "t"}),
    ),
    "unknown-field": (
        ("update_note", ["acme", "NOTE"], {"colour": "red"}),
        ("patch", "/orgs/acme/notes/NOTE", {"colour": "red"}),
    ),
    "bad-changes": (
        ("update_note", ["acme", "NOTE"], {"title": "", "tags": [1]}),
        ("patch", "/orgs/acme/notes/NOTE", {"title": "", "tags": [1]}),
    ),
    "limit-0": (
        ("notes", ["acme"], {"limit": 0}),
        ("get", "/orgs/acme/notes?limit=0", None),
    ),
    "limit-1000": (
        ("notes", ["acme"], {"limit": 1000}),
        ("get", "/orgs/acme/notes?limit=1000", None),
    ),
    "limit-abc": (
        ("notes", ["acme"], {"limit": "abc"}),
        ("get", "/orgs/acme/notes?limit=abc", None),
    ),
    "empty-tag": (
        ("notes", ["acme"], {"tag": ""}),
        ("get", "/orgs/acme/notes?tag=", None),
    ),
    "bad-cursor": (
        ("notes", ["acme"], {"cursor": "bm90IGEgY3Vyc29y"}),
        ("get", "/orgs/acme/notes?cursor=bm90IGEgY3Vyc29y", None),
    ),
    "orgs-limit": (
        ("organizations", [], {"limit": 0}),
        ("get", "/orgs?limit=0", None),
    ),
    "members-limit": (
        ("members", ["acme"], {"limit": 101}),
        ("get", "/orgs/acme/members?limit=101", None),
    ),
    "unknown-org": (
        ("organization", ["nope"], {}),
        ("get", "/orgs/nope", None),
    ),
    "unknown-user": (
        ("add_member", ["acme", "nobody"], {}),
        ("post", "/orgs/acme/members", {"user": "nobody"}),
    ),
    "bad-user-name": (
        ("add_member", ["acme", "Bad Name"], {}),
        ("post", "/orgs/acme/members", {"user": "Bad Name"}),
    ),
    "bad-role": (
        ("add_member", ["acme", "bob"], {"role": "king"}),
        ("post", "/orgs/acme/members", {"user": "bob", "role": "king"}),
    ),
    "member-twice": (
        ("add_member", ["acme", "bob"], {}),
        ("post", "/orgs/acme/members", {"user": "bob"}),
    ),
    "last-owner": (
        ("remove_member", ["acme", "alice"], {}),
        ("delete", "/orgs/acme/members/alice", None),
    ),
    "not-a-member": (
        ("remove_member", ["acme", "carol"], {}),
        ("delete", "/orgs/acme/members/carol", None),
    ),
}


@pytest.mark.parametrize(
    ("python", "http"), list(FAILURES.values()), ids=list(FAILURES)
)
def test_failures_raise_the_errors_http_answers(
    app, client, alice, api, note_id, python, http
):
    before = stored_rows(app)

    with pytest.raises(ApiException) as raised:
        call(api, note_id, *python)

    response = request(client, alice.headers, note_id, *http)
    assert response.status_code >= 400
    assert raised.value.status == response.status_code
    assert raised.value.to_dict() == error_body(response)
    assert stored_rows(app) == before


# Calls by someone outside acme, and the same requests over HTTP.
OUTSIDER_CALLS = {
    "organization": (
        ("organization", ["acme"], {}),
        ("get", "/orgs/acme", None),
    ),
    "members": (
        ("members", ["acme"], {}),
        ("get", "/orgs/acme/members", None),
    ),
    "add_member": (
        ("add_member", ["acme", "carol"], {}),
        ("post", "/orgs/acme/members", {"user": "carol"}),
    ),
    "remove_member": (
        ("remove_member", ["acme", "alice"], {}),
        ("delete", "/orgs/acme/members/alice", None),
    ),
    "update_member": (
        ("update_member", ["acme", "alice"], {"role": "member"}),
        ("patch", "/orgs/acme/members/alice", {"role": "member"}),
    ),
    "update_organization": (
        ("update_organization", ["acme"], {"name": "Taken over"}),
        ("patch", "/orgs/acme", {"name": "Taken over"}),
    ),
    "delete_organization": (
        ("delete_organization", ["acme"], {}),
        ("delete", "/orgs/acme", None),
    ),
    "invite_member": (
        ("invite_member", ["acme", "carol"], {}),
        ("post", "/orgs/acme/invitations", {"user": "carol"}),
    ),
    "invitations": (
        ("invitations", ["acme"], {}),
        ("get", "/orgs/acme/invitations", None),
    ),
    "notes": (
        ("notes", ["acme"], {}),
        ("get", "/orgs/acme/notes", None),
    ),
    "create_note": (
        ("create_note", ["acme"], {"title": "Planted"}),
        ("post", "/orgs/acme/notes", {"title": "Planted"}),
    ),
    "note": (
        ("note", ["acme", "NOTE"], {}),
        ("get", "/orgs/acme/notes/NOTE", None),
    ),
    "update_note": (
        ("update_note", ["acme", "NOTE"], {"title": "Defaced"}),
        ("patch", "/orgs/acme/notes/NOTE", {"title": "Defaced"}),
    ),
    "delete_note": (
        ("delete_note", ["acme", "NOTE"], {}),
        ("delete", "/orgs/acme/notes/NOTE", None),
    ),
}


@pytest.mark.parametrize(
    ("python", "http"), list(OUTSIDER_CALLS.values()), ids=list(OUTSIDER_CALLS)
)
def test_an_outsider_gets_the_same_404_as_over_http(
    app, client, thing, api, note_id, python, http
):
    thing.create_user("carol")
    carol = {"Authorization": f"Bearer {thing.create_token('carol')}"}
    before = stored_rows(app)

    with pytest.raises(ApiException) as raised:
        call(thing.as_user("carol"), note_id, *python)

    response = request(client, carol, note_id, *http)
    assert raised.value.status == response.status_code == 404
    assert raised.value.to_dict() == error_body(response)
    assert stored_rows(app) == before


# HTTP cannot carry a lone surrogate (the JSON parser refuses it with a 400);
# Python can, and mything.validation.text() lets it reach the database driver.
@pytest.mark.parametrize(
    ("fields", "path"),
    [({"title": "\ud800"}, "title"), ({"title": "t", "tags": ["\udc00"]}, "tags.0")],
)
def test_text_that_is_not_unicode_is_refused(app, api, fields, path):
    before = stored_rows(app)

    with pytest.raises(ApiException) as raised:
        api.create_note("acme", **fields)

    assert raised.value.status == 400
    assert [error["path"] for error in raised.value.errors] == [path]
    assert stored_rows(app) == before


@pytest.mark.parametrize("method", ["note", "update_note", "delete_note"])
def test_a_note_of_another_organization_is_not_found(thing, api, bob, method):
    bob_api = thing.as_user("bob")
    bob_api.create_organization("globex", name="Globex")
    foreign = bob_api.create_note("globex", title="Secret")

    with pytest.raises(ApiException) as raised:
        getattr(api, method)("acme", foreign["id"])

    assert raised.value.status == 404
    assert bob_api.note("globex", foreign["id"]) == foreign


@pytest.mark.parametrize("note", ["abc", 0, -1, 2**63, 1.0, True, None])
def test_a_malformed_note_id_is_not_found(api, note):
    with pytest.raises(ApiException) as raised:
        api.note("acme", note)

    assert raised.value.status == 404


def test_a_member_who_is_not_an_owner_is_forbidden(thing, api):
    thing.create_user("carol")

    with pytest.raises(ApiException) as raised:
        thing.as_user("bob").add_member("acme", "carol")

    assert (raised.value.status, raised.value.code) == (403, "forbidden")


@pytest.mark.parametrize(
    ("method", "args", "kwargs"),
    [
        ("me", (), {}),
        ("organizations", (), {}),
        ("create_organization", ("acme",), {"name": "Acme"}),
        ("organization", ("acme",), {}),
        ("notes", ("acme",), {}),
        ("create_note", ("acme",), {"title": "t"}),
    ],
)
def test_an_unknown_user_is_unauthorized(thing, alice, method, args, kwargs):
    with pytest.raises(ApiException) as raised:
        getattr(thing.as_user("nobody"), method)(*args, **kwargs)

    assert (raised.value.status, raised.value.code) == (401, "unauthorized")


def test_creating_a_user_twice_is_a_conflict(thing):
    thing.create_user("alice")

    with pytest.raises(ApiException) as raised:
        thing.create_user("alice")

    assert (raised.value.status, raised.value.code) == (409, "conflict")


@pytest.mark.parametrize("name", ["Alice", "has space", "", "-x", "a" * 65])
def test_an_invalid_user_name_is_refused(thing, name):
    with pytest.raises(ApiException) as raised:
        thing.create_user(name)

    assert raised.value.status == 400
    assert [error["path"] for error in raised.value.errors] == ["name"]


def test_a_created_user_can_use_a_token(client, thing):
    assert thing.create_user("carol") == {"name": "carol"}
    token = thing.create_token("carol")

    response = client.get("/me", headers={"Authorization": f"Bearer {token}"})

    assert response.get_json() == {"name": "carol", "organizations": []}


def test_a_token_for_an_unknown_user_is_not_found(thing, alice):
    with pytest.raises(ApiException) as raised:
        thing.create_token("nobody")

    assert raised.value.status == 404


#: What a Python twin names its view with, in mything/thing.py.
TWIN = re.compile(r"(?:like=|endpoint_of\()(\w+_views)\.(\w+)")
#: The list of routes without a Python twin, in docs/architecture.md.
EXEMPT = re.compile(r"^- `([\w.]+)`", re.M)


@pytest.mark.databases("sqlite")
def test_every_route_has_a_python_twin_or_a_documented_exemption(tmp_path):
    everything_on = {
        "DATABASE_URI": f"sqlite:///{tmp_path / 'routes.db'}",
        "DOCS_ENABLED": True,
        "METRICS_ENABLED": True,
        "METRICS_TOKEN": "a-scraper-token-of-some-length",
    }
    app = create_app(everything_on)
    source = inspect.getsource(thing_module)
    twins = {
        getattr(getattr(thing_module, alias), name)
        for alias, name in TWIN.findall(source)
    }
    docs = (Path(__file__).parents[1] / "docs" / "architecture.md").read_text()
    exemptions_section = docs.partition("### Routes without a Python twin")[2]
    exempt = set(EXEMPT.findall(exemptions_section.partition("\n#")[0]))
    assert exempt, "docs/architecture.md lists no exemptions"
    without_twin = {
        rule.endpoint
        for rule in app.url_map.iter_rules()
        if app.view_functions[rule.endpoint] not in twins
        and rule.endpoint not in exempt
    }
    assert not without_twin, f"routes without a UserApi method: {without_twin}"
    # An exemption that names no route is stale.
    assert exempt <= {rule.endpoint for rule in app.url_map.iter_rules()}
