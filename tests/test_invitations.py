"""Invitations: owners invite, the invited user accepts or declines, or it expires."""

from datetime import datetime, timedelta

import pytest
from helpers.databases import ALL_DATABASES, stored_rows
from sqlalchemy import update

from mything import ApiException
from mything.db import get_database
from mything.tables import invitations, utcnow

pytestmark = pytest.mark.databases(*ALL_DATABASES)

INVITATIONS = "/orgs/acme/invitations"


@pytest.fixture
def acme(client, alice, bob):
    """The organization acme, owned by alice; bob exists but is not a member."""
    client.post("/orgs", json={"slug": "acme", "name": "Acme"}, headers=alice.headers)
    return INVITATIONS


def invite(client, caller, user="bob", **fields):
    return client.post(
        INVITATIONS, json={"user": user, **fields}, headers=caller.headers
    )


def expire_every_invitation(app):
    """Move every invitation's expiry a minute into the past."""
    with get_database(app).engine.begin() as connection:
        connection.execute(
            update(invitations).values(expires_at=utcnow() - timedelta(minutes=1))
        )


def moment(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_an_owner_invites_a_user(client, alice, bob, acme):
    response = invite(client, alice)

    assert response.status_code == 201
    invitation = response.get_json()
    assert set(invitation) == {
        "id",
        "organization",
        "organization_name",
        "user",
        "role",
        "invited_by",
        "created_at",
        "expires_at",
    }
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
    shown = client.get(response.headers["Location"], headers=alice.headers)
    assert shown.status_code == 200
    assert shown.get_json() == invitation


def test_an_invitation_lasts_invitation_days(app, client, alice, bob, acme):
    app.config["INVITATION_DAYS"] = 3

    invitation = invite(client, alice, role="owner").get_json()

    lifetime = moment(invitation["expires_at"]) - moment(invitation["created_at"])
    assert lifetime == timedelta(days=3)
    assert invitation["role"] == "owner"


def test_the_invited_user_sees_it_and_accepts(client, alice, bob, acme):
    invitation = invite(client, alice, role="owner").get_json()

    mine = client.get("/me/invitations", headers=bob.headers).get_json()
    assert mine == {"items": [invitation], "next_cursor": None}

    response = client.post(
        f"/me/invitations/{invitation['id']}/accept", headers=bob.headers
    )

    assert response.status_code == 200
    assert response.get_json() == client.get("/orgs/acme", headers=bob.headers).json
    assert response.get_json()["role"] == "owner"
    assert client.get("/me/invitations", headers=bob.headers).json["items"] == []
    assert client.get(acme, headers=alice.headers).json["items"] == []


def test_my_invitations_are_listed_newest_first(client, thing, alice, bob):
    api = thing.as_user("alice")
    for slug in ["acme", "globex", "hooli"]:
        api.create_organization(slug, name=slug.title())
        api.invite_member(slug, "bob")

    first = client.get("/me/invitations?limit=2", headers=bob.headers).get_json()
    rest = client.get(
        "/me/invitations",
        query_string={"limit": 2, "cursor": first["next_cursor"]},
        headers=bob.headers,
    ).get_json()

    slugs = [item["organization"] for item in first["items"] + rest["items"]]
    assert slugs == ["hooli", "globex", "acme"]
    assert rest["next_cursor"] is None


def test_owners_list_the_pending_invitations(client, thing, alice, bob, acme):
    thing.create_user("carol")
    carol = invite(client, alice, "carol").get_json()
    declined = invite(client, alice).get_json()
    client.delete(f"/me/invitations/{declined['id']}", headers=bob.headers)

    page = client.get(acme, headers=alice.headers).get_json()

    assert page == {"items": [carol], "next_cursor": None}


def test_declining_leaves_the_user_outside(client, alice, bob, acme):
    invitation = invite(client, alice).get_json()

    response = client.delete(f"/me/invitations/{invitation['id']}", headers=bob.headers)

    assert response.status_code == 204
    assert client.get("/orgs/acme", headers=bob.headers).status_code == 404
    assert client.get(acme, headers=alice.headers).json["items"] == []


def test_an_owner_cancels_an_invitation(client, alice, bob, acme):
    invitation = invite(client, alice).get_json()

    response = client.delete(f"{acme}/{invitation['id']}", headers=alice.headers)

    assert response.status_code == 204
    assert client.get("/me/invitations", headers=bob.headers).json["items"] == []
    accepted = client.post(
        f"/me/invitations/{invitation['id']}/accept", headers=bob.headers
    )
    assert accepted.status_code == 404


def test_a_declined_or_cancelled_invitation_does_not_block_a_new_one(
    client, alice, bob, acme
):
    first = invite(client, alice).get_json()
    client.delete(f"/me/invitations/{first['id']}", headers=bob.headers)
    second = invite(client, alice).get_json()
    client.delete(f"{acme}/{second['id']}", headers=alice.headers)

    third = invite(client, alice)

    assert third.status_code == 201
    assert third.get_json()["id"] not in (first["id"], second["id"])


def test_an_expired_invitation_is_gone(app, client, alice, bob, acme):
    invitation = invite(client, alice).get_json()
    expire_every_invitation(app)
    before = stored_rows(app)
    mine = f"/me/invitations/{invitation['id']}"

    responses = [
        client.get("/me/invitations", headers=bob.headers),
        client.get(acme, headers=alice.headers),
        client.get(f"{acme}/{invitation['id']}", headers=alice.headers),
        client.post(f"{mine}/accept", headers=bob.headers),
        client.delete(mine, headers=bob.headers),
        client.delete(f"{acme}/{invitation['id']}", headers=alice.headers),
    ]

    assert [response.status_code for response in responses] == [
        200,
        200,
        404,
        404,
        404,
        404,
    ]
    assert responses[0].json["items"] == responses[1].json["items"] == []
    assert stored_rows(app) == before
    assert client.get("/orgs/acme", headers=bob.headers).status_code == 404


def test_an_expired_invitation_does_not_block_a_new_one(app, client, alice, bob, acme):
    invite(client, alice)
    expire_every_invitation(app)

    again = invite(client, alice, role="owner")

    assert again.status_code == 201
    assert client.get(acme, headers=alice.headers).json["items"] == [again.json]


def test_a_retry_with_the_same_idempotency_key_invites_once(client, alice, bob, acme):
    headers = {**alice.headers, "Idempotency-Key": "invite-bob-1"}
    first = client.post(INVITATIONS, json={"user": "bob"}, headers=headers)

    retry = client.post(INVITATIONS, json={"user": "bob"}, headers=headers)

    assert first.status_code == retry.status_code == 201
    assert retry.get_json() == first.get_json()
    assert retry.headers["Idempotent-Replayed"] == "true"
    assert retry.headers["Location"] == first.headers["Location"]
    assert len(client.get(acme, headers=alice.headers).json["items"]) == 1


def test_adding_a_member_with_a_key_is_retried_safely(client, alice, bob, acme):
    headers = {**alice.headers, "Idempotency-Key": "add-bob-1"}
    first = client.post("/orgs/acme/members", json={"user": "bob"}, headers=headers)

    retry = client.post("/orgs/acme/members", json={"user": "bob"}, headers=headers)

    assert first.status_code == retry.status_code == 202
    assert retry.get_json() == first.get_json()


def test_deleting_the_organization_takes_its_invitations(client, alice, bob, acme):
    invitation = invite(client, alice).get_json()

    client.delete("/orgs/acme", headers=alice.headers)

    assert client.get("/me/invitations", headers=bob.headers).json["items"] == []
    accepted = client.post(
        f"/me/invitations/{invitation['id']}/accept", headers=bob.headers
    )
    assert accepted.status_code == 404


# Bad input -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({"user": "bob", "role": "admin"}, ["role"]),
        ({"user": "bob", "role": "Owner"}, ["role"]),
        ({"user": "b" * 65}, ["user"]),
        ({"user": 7}, ["user"]),
        ({"user": ["bob"]}, ["user"]),
        ({"user": "nobody"}, ["user"]),
        ({}, ["user"]),
    ],
)
def test_an_invalid_invitation_is_refused(app, client, alice, bob, acme, body, paths):
    before = stored_rows(app)

    response = client.post(INVITATIONS, json=body, headers=alice.headers)

    assert response.status_code == 400
    error = response.get_json()
    assert error["code"] == "validation_error"
    assert sorted(item["path"] for item in error["errors"]) == paths
    assert stored_rows(app) == before


def test_inviting_oneself_is_a_conflict(app, client, alice, acme):
    before = stored_rows(app)

    response = invite(client, alice, "alice")

    assert response.status_code == 409
    assert response.get_json()["code"] == "conflict"
    assert stored_rows(app) == before


def test_inviting_a_member_or_someone_already_invited_is_a_conflict(
    app, client, thing, alice, bob, acme
):
    thing.create_user("carol")
    thing.add_member("acme", "carol")
    invite(client, alice)
    before = stored_rows(app)

    member = invite(client, alice, "carol")
    again = invite(client, alice, role="owner")

    assert member.status_code == again.status_code == 409
    assert member.json["code"] == again.json["code"] == "conflict"
    assert stored_rows(app) == before


def test_accepting_twice_is_not_found(app, client, alice, bob, acme):
    invitation = invite(client, alice).get_json()
    accept = f"/me/invitations/{invitation['id']}/accept"
    client.post(accept, headers=bob.headers)
    before = stored_rows(app)

    again = client.post(accept, headers=bob.headers)

    assert again.status_code == 404
    assert again.get_json()["code"] == "not_found"
    assert stored_rows(app) == before


def test_accepting_a_declined_invitation_is_not_found(app, client, alice, bob, acme):
    invitation = invite(client, alice).get_json()
    client.delete(f"/me/invitations/{invitation['id']}", headers=bob.headers)
    before = stored_rows(app)

    response = client.post(
        f"/me/invitations/{invitation['id']}/accept", headers=bob.headers
    )

    assert response.status_code == 404
    assert stored_rows(app) == before


def test_someone_else_s_invitation_is_an_unknown_one(
    app, client, thing, alice, bob, acme
):
    thing.create_user("carol")
    carol = {"Authorization": f"Bearer {thing.create_token('carol')}"}
    invitation = invite(client, alice).get_json()
    before = stored_rows(app)

    for path in [
        f"/me/invitations/{invitation['id']}",
        "/me/invitations/999999",
        f"/me/invitations/{2**63}",
    ]:
        accepted = client.post(f"{path}/accept", headers=carol)
        declined = client.delete(path, headers=carol)
        assert accepted.status_code == declined.status_code == 404
        assert accepted.json["message"] == declined.json["message"]

    assert stored_rows(app) == before
    assert client.get("/me/invitations", headers=carol).json["items"] == []


def test_another_organization_s_invitation_is_an_unknown_one(
    app, client, thing, alice, bob, acme
):
    thing.as_user("alice").create_organization("globex", name="Globex")
    invitation = invite(client, alice).get_json()
    before = stored_rows(app)

    foreign = f"/orgs/globex/invitations/{invitation['id']}"
    unknown = "/orgs/globex/invitations/999999"
    for path in (foreign, unknown):
        shown = client.get(path, headers=alice.headers)
        cancelled = client.delete(path, headers=alice.headers)
        assert shown.status_code == cancelled.status_code == 404

    assert stored_rows(app) == before


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", INVITATIONS, {"user": "carol"}),
        ("get", INVITATIONS, None),
        ("get", f"{INVITATIONS}/ID", None),
        ("delete", f"{INVITATIONS}/ID", None),
        ("patch", "/orgs/acme", {"name": "Renamed"}),
        ("delete", "/orgs/acme", None),
    ],
)
def test_a_member_who_is_not_an_owner_is_forbidden(
    app, client, thing, alice, bob, acme, method, path, body
):
    thing.create_user("carol")
    thing.add_member("acme", "bob")
    invitation = invite(client, alice, "carol").get_json()
    before = stored_rows(app)

    response = getattr(client, method)(
        path.replace("ID", str(invitation["id"])), json=body, headers=bob.headers
    )

    assert response.status_code == 403
    assert response.get_json()["code"] == "forbidden"
    assert stored_rows(app) == before


def test_python_calls_answer_as_http_does(client, thing, alice, bob, acme):
    alice_api, bob_api = thing.as_user("alice"), thing.as_user("bob")

    invitation = alice_api.invite_member("acme", "bob", role="owner")

    assert alice_api.invitations("acme")["items"] == [invitation]
    assert (
        bob_api.my_invitations()
        == client.get("/me/invitations", headers=bob.headers).get_json()
    )
    with pytest.raises(ApiException) as raised:
        bob_api.decline_invitation(invitation["id"] + 1)
    assert (raised.value.status, raised.value.code) == (404, "not_found")
    joined = bob_api.accept_invitation(invitation["id"])
    assert joined == bob_api.organization("acme")
    assert joined["role"] == "owner"


@pytest.mark.parametrize("invitation_id", ["abc", 0, -1, 2**63, 1.0, True, None])
def test_a_malformed_invitation_id_is_not_found_from_python(
    thing, alice, invitation_id
):
    with pytest.raises(ApiException) as raised:
        thing.as_user("alice").accept_invitation(invitation_id)

    assert (raised.value.status, raised.value.message) == (404, "Invitation not found.")


def test_an_owner_cancels_from_python(thing, alice, bob, acme):
    api = thing.as_user("alice")
    invitation = api.invite_member("acme", "bob")

    assert api.cancel_invitation("acme", invitation["id"]) is None

    assert api.invitations("acme")["items"] == []
