"""Conditional requests on notes: versions, ETags, If-None-Match, If-Match, 428."""

import pytest
from helpers.databases import ALL_DATABASES, stored_rows

from mything import ApiException, MyThing
from mything.db import get_database

pytestmark = pytest.mark.databases(*ALL_DATABASES)

NOTES = "/orgs/acme/notes"


@pytest.fixture(autouse=True)
def acme(client, alice):
    """The organization acme, owned by alice."""
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)


@pytest.fixture
def note(client, alice):
    """A note of acme, at version 1; its answer's ETag is in ``note["etag"]``."""
    response = client.post(NOTES, json={"title": "Plan"}, headers=alice.headers)
    assert response.status_code == 201
    return {**response.get_json(), "etag": response.headers["ETag"]}


def url_of(note):
    return f"{NOTES}/{note['id']}"


def with_headers(caller, **headers):
    return {**caller.headers, **{k.replace("_", "-"): v for k, v in headers.items()}}


def assert_error(response, status, code):
    assert response.status_code == status, response.get_json()
    body = response.get_json()
    assert body["code"] == code
    assert body["request_id"] == response.headers["X-Request-ID"]


# Versions and ETags -----------------------------------------------------------


def test_a_new_note_is_version_1_with_a_strong_etag(note):
    assert note["version"] == 1
    assert note["etag"] == f'"{note["id"]}-1"'


def test_reading_a_note_gives_the_same_etag_every_time(client, alice, note):
    tags = {client.get(url_of(note), headers=alice.headers).headers["ETag"]}
    tags.add(client.get(url_of(note), headers=alice.headers).headers["ETag"])
    assert tags == {note["etag"]}


def test_each_change_makes_a_new_version_and_etag(client, alice, note):
    etags = [note["etag"]]
    for changes in [{"title": "Two"}, {"body": "three"}, {"tags": ["four"]}]:
        response = client.patch(url_of(note), json=changes, headers=alice.headers)
        assert response.status_code == 200
        etags.append(response.headers["ETag"])
    shown = client.get(url_of(note), headers=alice.headers)
    assert shown.get_json()["version"] == 4
    assert shown.headers["ETag"] == etags[-1]
    assert len(set(etags)) == 4


@pytest.mark.parametrize(
    "changes", [{}, {"title": "Plan"}, {"body": ""}, {"tags": []}], ids=str
)
def test_a_patch_that_changes_nothing_keeps_the_version(client, alice, note, changes):
    response = client.patch(url_of(note), json=changes, headers=alice.headers)
    assert response.status_code == 200
    assert response.get_json()["version"] == 1
    assert response.headers["ETag"] == note["etag"]
    assert response.get_json()["updated_at"] == note["updated_at"]


def test_list_items_carry_their_version(client, alice, note):
    client.patch(url_of(note), json={"title": "Two"}, headers=alice.headers)
    page = client.get(NOTES, headers=alice.headers).get_json()
    assert [item["version"] for item in page["items"]] == [2]


# If-None-Match ----------------------------------------------------------------


@pytest.mark.parametrize("form", ["{tag}", "W/{tag}", '"other", {tag}', "*"])
def test_if_none_match_with_the_current_etag_is_304_without_a_body(
    client, alice, note, form
):
    condition = form.format(tag=note["etag"])
    response = client.get(
        url_of(note),
        headers=with_headers(alice, If_None_Match=condition, X_Request_ID="r-304"),
    )
    assert response.status_code == 304
    assert response.data == b""
    assert response.headers["ETag"] == note["etag"]
    assert response.headers["X-Request-ID"] == "r-304"
    assert "Content-Type" not in response.headers


def test_if_none_match_with_an_old_etag_gets_the_note(client, alice, note):
    client.patch(url_of(note), json={"title": "Two"}, headers=alice.headers)
    response = client.get(
        url_of(note), headers=with_headers(alice, If_None_Match=note["etag"])
    )
    assert response.status_code == 200
    assert response.get_json()["title"] == "Two"
    assert response.headers["ETag"] != note["etag"]


def test_if_match_on_a_read_of_a_changed_note_is_412(client, alice, note):
    client.patch(url_of(note), json={"title": "Two"}, headers=alice.headers)
    response = client.get(
        url_of(note), headers=with_headers(alice, If_Match=note["etag"])
    )
    assert_error(response, 412, "precondition_failed")


# If-Match on writes -----------------------------------------------------------


@pytest.mark.parametrize("form", ["{tag}", '"other", {tag}', "*"])
def test_a_patch_with_a_matching_if_match_is_made(client, alice, note, form):
    response = client.patch(
        url_of(note),
        json={"title": "Two"},
        headers=with_headers(alice, If_Match=form.format(tag=note["etag"])),
    )
    assert response.status_code == 200
    assert response.get_json()["version"] == 2


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_write_with_a_stale_if_match_is_412_and_changes_nothing(
    app, client, alice, note, method
):
    client.patch(url_of(note), json={"title": "Two"}, headers=alice.headers)
    before = stored_rows(app)
    response = getattr(client, method)(
        url_of(note),
        json={"title": "Three"} if method == "patch" else None,
        headers=with_headers(alice, If_Match=note["etag"]),
    )
    assert_error(response, 412, "precondition_failed")
    assert stored_rows(app) == before


@pytest.mark.parametrize(
    "condition",
    ["W/{tag}", '"{id}-01"', '"999-1"', '"{id}"', '"1"', '""'],
    ids=["weak", "leading zero", "other note", "no version", "bare number", "empty"],
)
def test_if_match_compares_strongly_and_exactly(app, client, alice, note, condition):
    tag = condition.format(tag=note["etag"], id=note["id"])
    before = stored_rows(app)
    response = client.patch(
        url_of(note), json={"title": "Two"}, headers=with_headers(alice, If_Match=tag)
    )
    assert_error(response, 412, "precondition_failed")
    assert stored_rows(app) == before


def test_a_delete_with_the_current_etag_deletes(client, alice, note):
    response = client.delete(
        url_of(note), headers=with_headers(alice, If_Match=note["etag"])
    )
    assert response.status_code == 204
    assert "ETag" not in response.headers
    assert client.get(url_of(note), headers=alice.headers).status_code == 404


def test_if_match_on_a_missing_note_is_404(client, alice, note):
    client.delete(url_of(note), headers=alice.headers)
    response = client.patch(
        url_of(note), json={"title": "x"}, headers=with_headers(alice, If_Match="*")
    )
    assert_error(response, 404, "not_found")


# REQUIRE_IF_MATCH -------------------------------------------------------------


@pytest.fixture
def strict(database_uri, alice):
    """A second thing on the same database, with REQUIRE_IF_MATCH on; a note."""
    thing = MyThing({"DATABASE_URI": database_uri, "REQUIRE_IF_MATCH": True})
    note = thing.as_user("alice").create_note("acme", title="Plan")
    yield thing, alice.headers, note
    get_database(thing.flask_app).dispose()


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_require_if_match_refuses_writes_without_it_with_428(strict, method):
    thing, headers, note = strict
    client = thing.flask_app.test_client()
    before = stored_rows(thing.flask_app)
    response = getattr(client, method)(
        url_of(note),
        json={"title": "Two"} if method == "patch" else None,
        headers=headers,
    )
    assert_error(response, 428, "precondition_required")
    assert stored_rows(thing.flask_app) == before


@pytest.mark.parametrize("condition", ['"{id}-1"', "*"])
def test_require_if_match_accepts_writes_with_it(strict, condition):
    thing, headers, note = strict
    client = thing.flask_app.test_client()
    response = client.patch(
        url_of(note),
        json={"title": "Two"},
        headers={**headers, "If-Match": condition.format(id=note["id"])},
    )
    assert response.status_code == 200


def test_require_if_match_applies_to_the_python_api(strict):
    thing, _, note = strict
    api = thing.as_user("alice")
    with pytest.raises(ApiException) as raised:
        api.update_note("acme", note["id"], title="Two")
    assert (raised.value.status, raised.value.code) == (428, "precondition_required")
    assert api.update_note("acme", note["id"], title="Two", if_match=1)["version"] == 2


def test_reads_need_no_if_match_even_when_writes_do(strict):
    thing, headers, note = strict
    response = thing.flask_app.test_client().get(url_of(note), headers=headers)
    assert response.status_code == 200


# Bad conditional headers ------------------------------------------------------

MALFORMED = {
    "no quotes": "{id}-1",
    "bare W/": "W/",
    "W/ without quotes": "W/{id}-1",
    "garbage in a list": '"{id}-1", garbage',
    "empty list element": '"{id}-1",,',
    "unclosed quote": '"{id}-1',
    "10 000 characters": '"' + "x" * 9998 + '"',
    "a star in a list": '*, "{id}-1"',
    "empty": "",
}


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
@pytest.mark.parametrize("method", ["patch", "delete"])
def test_a_malformed_if_match_is_400_and_changes_nothing(
    app, client, alice, note, method, value
):
    before = stored_rows(app)
    response = getattr(client, method)(
        url_of(note),
        json={"title": "Two"} if method == "patch" else None,
        headers=with_headers(alice, If_Match=value.format(id=note["id"])),
    )
    assert_error(response, 400, "invalid_precondition")
    assert "If-Match" in response.get_json()["message"]
    assert stored_rows(app) == before


@pytest.mark.parametrize("value", MALFORMED.values(), ids=MALFORMED.keys())
def test_a_malformed_if_none_match_is_400(client, alice, note, value):
    response = client.get(
        url_of(note),
        headers=with_headers(alice, If_None_Match=value.format(id=note["id"])),
    )
    assert_error(response, 400, "invalid_precondition")


@pytest.mark.parametrize("method", ["patch", "delete"])
def test_if_none_match_on_a_write_is_400_and_changes_nothing(
    app, client, alice, note, method
):
    before = stored_rows(app)
    response = getattr(client, method)(
        url_of(note),
        json={"title": "Two"} if method == "patch" else None,
        headers=with_headers(alice, If_None_Match=note["etag"]),
    )
    assert_error(response, 400, "invalid_precondition")
    assert "If-Match" in response.get_json()["message"]
    assert stored_rows(app) == before


# The Python API ---------------------------------------------------------------


@pytest.fixture
def api(thing, alice):
    return thing.as_user("alice")


def test_python_update_with_the_current_version_is_made(api, note):
    updated = api.update_note("acme", note["id"], title="Two", if_match=1)
    assert updated["version"] == 2
    assert (
        api.update_note("acme", note["id"], title="Three", if_match="*")["version"] == 3
    )


@pytest.mark.parametrize("operation", ["update_note", "delete_note"])
def test_python_writes_with_a_stale_version_raise_412(app, api, note, operation):
    api.update_note("acme", note["id"], title="Two")
    before = stored_rows(app)
    changes = {"title": "Three"} if operation == "update_note" else {}
    with pytest.raises(ApiException) as raised:
        getattr(api, operation)("acme", note["id"], if_match=1, **changes)
    assert (raised.value.status, raised.value.code) == (412, "precondition_failed")
    assert stored_rows(app) == before


@pytest.mark.parametrize("if_match", [0, -1, True, "1", '"1-1"', 1.5, [1]], ids=repr)
def test_python_if_match_must_be_a_version(api, note, if_match):
    with pytest.raises(ApiException) as raised:
        api.update_note("acme", note["id"], title="Two", if_match=if_match)
    assert raised.value.status == 400
    assert [error["path"] for error in raised.value.errors] == ["if_match"]


def test_python_delete_with_the_current_version_deletes(api, note):
    api.delete_note("acme", note["id"], if_match=1)
    assert api.notes("acme")["items"] == []


# Retries ----------------------------------------------------------------------


def test_a_replayed_create_carries_the_etag_of_the_first_answer(client, alice):
    headers = with_headers(alice, Idempotency_Key="create-1")
    first = client.post(NOTES, json={"title": "Plan"}, headers=headers)
    again = client.post(NOTES, json={"title": "Plan"}, headers=headers)
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.headers["ETag"] == first.headers["ETag"]
