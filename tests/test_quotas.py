"""Per-user quotas: how many organizations one user may belong to.

(The token quota is tested with the other token rules, in test_tokens.py.)
"""

from __future__ import annotations

import pytest
from helpers.databases import ALL_DATABASES

from mything import ApiException
from mything.testing import TestUser

pytestmark = pytest.mark.databases(*ALL_DATABASES)


@pytest.fixture
def capped(make_thing, database_uri):
    thing = make_thing(DATABASE_URI=database_uri, MAX_ORGANIZATIONS_PER_USER=2)
    thing.create_user("alice")
    return thing


def test_a_user_creates_at_most_max_organizations_per_user(capped):
    alice = TestUser("alice", capped.create_token("alice"))
    client = capped.flask_app.test_client()
    for slug in ("one", "two"):
        created = client.post(
            "/orgs", json={"slug": slug, "name": slug}, headers=alice.headers
        )
        assert created.status_code == 201

    refused = client.post(
        "/orgs", json={"slug": "three", "name": "three"}, headers=alice.headers
    )

    assert refused.status_code == 409
    assert refused.json["code"] == "quota_exceeded"
    with pytest.raises(ApiException) as raised:
        capped.as_user("alice").create_organization("four", name="four")
    assert raised.value.code == "quota_exceeded"
    listed = client.get("/orgs", headers=alice.headers).json["items"]
    assert [org["slug"] for org in listed] == ["one", "two"]
