"""mything from Python: the HTTP API as method calls, with the same rules.

A :class:`~mything.MyThing` is a WSGI application, and also an API for Python
code in the same process: a batch job, a management command, a test. Each
call validates its arguments with the schemas HTTP requests go through,
checks what the user may see, and returns what the HTTP response body would
be. A refusal raises :class:`~mything.ApiException` with the HTTP status,
the stable ``code`` and, for invalid input, every failure with its path.

Run it::

    python examples/python_api.py

It works in a fresh SQLite database that is deleted afterwards, or in the
database named by ``MYTHING_DATABASE_URI`` (which must not have the users
alice and bob yet).
"""

import os
import tempfile

from mything import ApiException, MyThing


def main(thing: MyThing) -> None:
    print("1 + 2 =", thing.add_numbers(1, 2)["sum"])

    # Administrative operations: nobody is asked for permission.
    thing.create_user("alice")
    thing.create_user("bob")
    token = thing.create_token("alice")
    print("alice's token, for HTTP clients, starts with", token[:3])

    # Everything else is done as a user, who sees only their organizations.
    alice = thing.as_user("alice")
    alice.create_organization("acme", name="Acme")
    note = alice.create_note("acme", title="Hello", body="First!", tags=["intro"])
    print(f"alice wrote note {note['id']} in acme, tagged {note['tags']}")
    titles = [item["title"] for item in alice.notes("acme", limit=20)["items"]]
    print("the notes of acme:", titles)

    try:
        alice.create_note("acme", title="", tags=["fine", ""])
    except ApiException as exc:
        # The same status, code and errors as a POST over HTTP would get.
        print("refused:", exc.status, exc.code)
        for error in exc.errors or []:
            print(f"  {error['path']}: {error['message']}")

    try:
        thing.as_user("bob").notes("acme")
    except ApiException as exc:
        # bob is not a member: for him, acme does not exist.
        print("refused:", exc.status, exc.code)


if __name__ == "__main__":
    if "MYTHING_DATABASE_URI" in os.environ:
        main(MyThing())
    else:
        with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as directory:
            main(MyThing({"DATABASE_URI": f"sqlite:///{directory}/example.db"}))
