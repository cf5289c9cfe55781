"""Make the mything 0.1 databases of this directory, with mything 0.1.0 itself.

The upgrade tests load them to show that a database made by the 0.1 release
keeps every row, token, cursor and idempotency key. They were made with 0.1.0
installed in a virtual environment of its own::

    python make.py sqlite:///v01.db sqlite.json
    sqlite3 v01.db .dump > sqlite.sql
    python make.py \\
        'postgresql://postgres@127.0.0.1/test?options=-csearch_path%3Dlegacy01' \\
        postgresql.json
    pg_dump --schema=legacy01 --inserts --no-owner --no-privileges test > postgresql.sql

(then the ``CREATE SCHEMA`` line and psql's ``\\restrict`` lines were removed
from ``postgresql.sql``: the tests make the schema, named ``legacy01`` there).
The JSON file records what a client of that database holds.
"""

import json
import sys

from werkzeug.test import Client

import mything

uri, output = sys.argv[1], sys.argv[2]
assert mything.__version__ == "0.1.0"
thing = mything.MyThing({"DATABASE_URI": uri})
thing.create_user("alice")
thing.create_user("bob")
alice_token = thing.create_token("alice")
bob_token = thing.create_token("bob")
alice = thing.as_user("alice")
alice.create_organization("acme", name="Acme <&> 'Co'")
alice.add_member("acme", "bob", role="member")
for number in range(3):
    tags = [f"t{number}", "shared"]
    alice.create_note("acme", title=f"note {number}", body="body ✓ " * 3, tags=tags)
client = Client(thing)
headers = {"Authorization": f"Bearer {alice_token}"}
once = client.post(
    "/orgs/acme/notes",
    json={"title": "once", "tags": ["retry"]},
    headers={**headers, "Idempotency-Key": "key-1"},
)
assert once.status_code == 201, once.json
first = client.get("/orgs/acme/notes?limit=2", headers=headers).json
page = client.get("/orgs/acme/notes", headers=headers).json
facts = {
    "alice_token": alice_token,
    "bob_token": bob_token,
    "cursor": first["next_cursor"],
    "first_page": first["items"],
    "notes": page["items"],
    "idempotent_note": once.json,
    "idempotent_location": once.headers["Location"],
}
with open(output, "w") as file:
    json.dump(facts, file, indent=1, sort_keys=True)
