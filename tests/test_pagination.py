"""Keyset pagination: next links, cursors, and page sizes.

The thing here has small pages (``PAGE_SIZE`` 3, ``MAX_PAGE_SIZE`` 5) so
that a few items make several pages.
"""

import json
import random
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from helpers.databases import ALL_DATABASES

from mything import MyThing, pagination
from mything.db import get_database

pytestmark = pytest.mark.databases(*ALL_DATABASES)

NOTES = "/orgs/acme/notes"


@pytest.fixture
def mything_config(mything_config):
    """Pages of 3 items by default and 5 at most."""
    return {**mything_config, "PAGE_SIZE": 3, "MAX_PAGE_SIZE": 5}


@pytest.fixture
def api(thing, alice):
    """alice's Python API, with her organization acme."""
    api = thing.as_user("alice")
    api.create_organization("acme", name="Acme")
    return api


def add_notes(api, count, *, slug="acme", tags=()):
    return [
        api.create_note(slug, title=f"note {index}", tags=list(tags))["id"]
        for index in range(count)
    ]


def next_link(response):
    """The URL of the ``rel="next"`` link of a response, or ``None``."""
    link = response.headers.get("Link")
    if link is None:
        return None
    match = re.fullmatch(r'<([^>]*)>; rel="next"', link)
    assert match, link
    return match[1]


def walk(client, url, caller, *, between_pages=lambda: None):
    """Follow next links from ``url``; return the pages' item lists."""
    pages = []
    while url is not None:
        response = client.get(url, headers=caller.headers)
        assert response.status_code == 200
        page = response.get_json()
        url = next_link(response)
        # The body's cursor and the header's link always agree.
        assert (page["next_cursor"] is None) == (url is None)
        pages.append(page["items"])
        between_pages()
    return pages


def flip_character(text, index):
    return text[:index] + ("B" if text[index] == "A" else "A") + text[index + 1 :]


def cursor_of(client, url, caller):
    cursor = client.get(url, headers=caller.headers).get_json()["next_cursor"]
    assert cursor is not None
    return cursor


def assert_bad_cursor(response):
    assert response.status_code == 400
    error = response.get_json()
    assert error["code"] == "validation_error"
    assert [item["path"] for item in error["errors"]] == ["cursor"]


def test_next_links_visit_every_note_once_newest_first(client, alice, api):
    ids = add_notes(api, 10)

    pages = walk(client, NOTES, alice)

    assert [len(page) for page in pages] == [3, 3, 3, 1]
    assert [note["id"] for page in pages for note in page] == ids[::-1]


def test_a_page_that_ends_with_the_last_note_has_no_next_link(client, alice, api):
    add_notes(api, 6)

    pages = walk(client, NOTES, alice)

    assert [len(page) for page in pages] == [3, 3]


def test_a_single_page_has_no_next_link(client, alice, api):
    add_notes(api, 2)

    response = client.get(NOTES, headers=alice.headers)

    assert response.get_json()["next_cursor"] is None
    assert "Link" not in response.headers


def test_the_next_link_is_absolute_and_keeps_the_other_arguments(client, alice, api):
    add_notes(api, 5, tags=["red"])

    response = client.get(
        NOTES, query_string={"limit": "2", "tag": "red"}, headers=alice.headers
    )

    url = urlsplit(next_link(response))
    assert (url.scheme, url.netloc, url.path) == ("http", "localhost", NOTES)
    assert parse_qs(url.query) == {
        "limit": ["2"],
        "tag": ["red"],
        "cursor": [response.get_json()["next_cursor"]],
    }


def test_next_links_keep_the_tag_filter_and_the_limit(client, alice, api):
    red = []
    for index in range(7):
        red += add_notes(api, 1, tags=["red"])
        add_notes(api, 1, tags=["blue"] if index % 2 else [])

    pages = walk(client, f"{NOTES}?tag=red&limit=2", alice)

    assert [len(page) for page in pages] == [2, 2, 2, 1]
    assert [note["id"] for page in pages for note in page] == red[::-1]


def test_notes_added_while_paging_are_not_visited(client, alice, api):
    ids = add_notes(api, 8)
    added = []

    pages = walk(
        client, NOTES, alice, between_pages=lambda: added.extend(add_notes(api, 2))
    )

    assert [note["id"] for page in pages for note in page] == ids[::-1]
    assert len(added) == 2 * len(pages)


def test_a_deleted_cursor_note_does_not_break_paging(client, alice, api):
    ids = add_notes(api, 7)
    first = client.get(NOTES, headers=alice.headers)
    last_shown = first.get_json()["items"][-1]["id"]

    api.delete_note("acme", last_shown)
    rest = walk(client, next_link(first), alice)

    assert [note["id"] for page in rest for note in page] == ids[3::-1]


def test_the_default_page_size_is_page_size(client, alice, api):
    add_notes(api, 6)

    page = client.get(NOTES, headers=alice.headers).get_json()

    assert len(page["items"]) == 3


def test_a_page_may_hold_max_page_size_items(client, alice, api):
    add_notes(api, 6)

    page = client.get(NOTES, query_string={"limit": 5}, headers=alice.headers)

    assert len(page.get_json()["items"]) == 5


def test_a_limit_over_max_page_size_is_refused(client, alice, api):
    add_notes(api, 6)

    response = client.get(NOTES, query_string={"limit": 6}, headers=alice.headers)

    assert response.status_code == 400
    assert [item["path"] for item in response.get_json()["errors"]] == ["limit"]


@pytest.mark.parametrize("where", ["payload", "signature"])
def test_a_tampered_cursor_is_refused(client, alice, api, where):
    add_notes(api, 4)
    cursor = cursor_of(client, NOTES, alice)
    # Not the last character of a part: its low bits may be base64 padding.
    index = 0 if where == "payload" else cursor.index(".") + 1

    response = client.get(
        NOTES,
        query_string={"cursor": flip_character(cursor, index)},
        headers=alice.headers,
    )

    assert_bad_cursor(response)


def test_a_cursor_of_another_organization_is_refused(client, alice, api):
    api.create_organization("beta", name="Beta")
    add_notes(api, 4, slug="beta")
    add_notes(api, 4)
    cursor = cursor_of(client, "/orgs/beta/notes", alice)

    response = client.get(NOTES, query_string={"cursor": cursor}, headers=alice.headers)

    assert_bad_cursor(response)


@pytest.mark.parametrize("tampered", [False, True])
def test_a_non_member_gets_the_404_whatever_the_cursor(
    client, alice, bob, api, tampered
):
    add_notes(api, 4)
    cursor = cursor_of(client, NOTES, alice)
    if tampered:
        cursor = flip_character(cursor, 0)

    response = client.get(NOTES, query_string={"cursor": cursor}, headers=bob.headers)

    assert response.status_code == 404
    assert response.get_json()["code"] == "not_found"


@pytest.mark.parametrize(
    ("made_for", "used_with"),
    [({"tag": "red"}, {}), ({}, {"tag": "red"}), ({"tag": "red"}, {"tag": "blue"})],
)
def test_a_cursor_of_another_tag_filter_is_refused(
    client, alice, api, made_for, used_with
):
    add_notes(api, 4, tags=["red", "blue"])
    cursor = client.get(NOTES, query_string=made_for, headers=alice.headers).get_json()

    response = client.get(
        NOTES,
        query_string={**used_with, "cursor": cursor["next_cursor"]},
        headers=alice.headers,
    )

    assert_bad_cursor(response)


@pytest.mark.parametrize(
    ("made_for", "used_with"),
    [
        ("/orgs", NOTES),
        ("/orgs/acme/members", NOTES),
        (NOTES, "/orgs"),
        (NOTES, "/orgs/acme/members"),
        ("/orgs", "/orgs/acme/members"),
    ],
)
def test_a_cursor_of_another_list_is_refused(
    client, thing, alice, api, made_for, used_with
):
    add_notes(api, 4)
    for index in range(4):
        api.create_organization(f"org-{index}", name="Org")
        thing.create_user(f"user-{index}")
        thing.add_member("acme", f"user-{index}")
    cursor = cursor_of(client, made_for, alice)

    response = client.get(
        used_with, query_string={"cursor": cursor}, headers=alice.headers
    )

    assert_bad_cursor(response)


def test_a_cursor_of_another_user_is_refused(client, thing, alice, bob, api):
    for index in range(4):
        thing.as_user("bob").create_organization(f"org-{index}", name="Org")
    cursor = cursor_of(client, "/orgs", bob)

    response = client.get(
        "/orgs", query_string={"cursor": cursor}, headers=alice.headers
    )

    assert_bad_cursor(response)


def test_a_cursor_from_another_database_is_refused(client, alice, api, tmp_path):
    add_notes(api, 4)
    other_uri = f"sqlite:///{tmp_path / 'other.db'}"
    other = MyThing({"DATABASE_URI": other_uri, "PAGE_SIZE": 3})
    try:
        other.create_user("alice")
        other.as_user("alice").create_organization("acme", name="Acme")
        for index in range(4):
            other.as_user("alice").create_note("acme", title=f"other {index}")
        cursor = other.as_user("alice").notes("acme")["next_cursor"]
    finally:
        get_database(other.flask_app).dispose()

    response = client.get(NOTES, query_string={"cursor": cursor}, headers=alice.headers)

    assert cursor is not None
    assert_bad_cursor(response)


def test_a_cursor_works_in_every_thing_on_the_same_database(
    database_uri, client, alice, api
):
    ids = add_notes(api, 4)
    # Another worker or host: a separate app on the same database.
    other = MyThing({"DATABASE_URI": database_uri, "PAGE_SIZE": 3})
    try:
        cursor = other.as_user("alice").notes("acme")["next_cursor"]
    finally:
        get_database(other.flask_app).dispose()

    response = client.get(NOTES, query_string={"cursor": cursor}, headers=alice.headers)

    assert [note["id"] for note in response.get_json()["items"]] == [ids[0]]


def test_next_links_visit_every_organization_once(client, thing, alice, api):
    slugs = [f"org-{index}" for index in range(7)]
    for slug in reversed(slugs):
        api.create_organization(slug, name="Org")

    pages = walk(client, "/orgs", alice)

    assert [len(page) for page in pages] == [3, 3, 2]
    assert [org["slug"] for page in pages for org in page] == ["acme", *slugs]


def test_next_links_visit_every_member_once(client, thing, alice, api):
    names = [f"user-{index}" for index in range(6)]
    for name in names:
        thing.create_user(name)
        thing.add_member("acme", name)

    pages = walk(client, "/orgs/acme/members?limit=4", alice)

    assert [len(page) for page in pages] == [4, 3]
    assert [member["user"] for page in pages for member in page] == ["alice", *names]


@pytest.mark.parametrize(
    "key",
    [
        7,
        "m" * 254,  # compressed: zlib shrinks it
        "".join(map(chr, range(0x4E00, 0x4EFE))),  # 254 characters zlib cannot shrink
        # The longest key of all: a host's user name of 254 characters of 4
        # UTF-8 bytes each, drawn at random so that zlib hardly shrinks it.
        "".join(
            chr(code)
            for code in random.Random(254).sample(range(0x10000, 0x110000), 254)
        ),
    ],
)
def test_a_cursor_reads_back_its_key_and_stays_within_its_length(thing, key):
    # Past 128 bytes a cursor's payload may be compressed; below, never.
    scope = f"members:{2**63 - 1}:"
    with thing.flask_app.app_context():
        cursor = pagination.encode_cursor(key, scope=scope)
        assert pagination.read_cursor(cursor) == (scope, key)
    assert len(cursor) <= pagination.MAX_CURSOR_LENGTH
    assert re.fullmatch(f"[{pagination.CURSOR_ALPHABET}]+", cursor)


# The byte budget: MAX_PAGE_BYTES -------------------------------------------


def walk_bodies(client, url, caller):
    """Follow next links from ``url``; return each page's raw body."""
    bodies = []
    while url is not None:
        response = client.get(url, headers=caller.headers)
        assert response.status_code == 200
        bodies.append(response.get_data())
        url = next_link(response)
    return bodies


def test_a_page_ends_before_its_body_passes_max_page_bytes(thing, client, alice, api):
    thing.flask_app.config["MAX_PAGE_BYTES"] = 30_000
    # Each "<" is sent as six bytes: 12,000 bytes of body per note.
    ids = [
        api.create_note("acme", title=f"note {index}", body="<" * 2_000)["id"]
        for index in range(5)
    ]

    bodies = walk_bodies(client, NOTES + "?limit=5", alice)

    assert all(len(body) <= 30_000 for body in bodies)
    pages = [json.loads(body)["items"] for body in bodies]
    assert [len(page) for page in pages] == [2, 2, 1]
    assert [note["id"] for page in pages for note in page] == ids[::-1]


def test_an_item_larger_than_the_budget_comes_alone(thing, client, alice, api):
    thing.flask_app.config["MAX_PAGE_BYTES"] = 1_000
    ids = (
        add_notes(api, 1)
        + [api.create_note("acme", title="big", body="<" * 5_000)["id"]]
        + add_notes(api, 1)
    )

    pages = walk(client, NOTES + "?limit=5", alice)

    assert [[note["id"] for note in page] for page in pages] == [
        [ids[2]],
        [ids[1]],
        [ids[0]],
    ]


@pytest.mark.parametrize("listing", ["/orgs", "/me/tokens", NOTES])
def test_every_listing_keeps_to_the_budget(thing, client, alice, api, listing):
    thing.flask_app.config["MAX_PAGE_BYTES"] = 1
    add_notes(api, 2)
    api.create_organization("globex", name="Globex")
    thing.create_token("alice")

    pages = walk(client, listing + "?limit=5", alice)

    assert [len(page) for page in pages] == [1, 1]
