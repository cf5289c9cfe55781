"""A host that acts on what happens inside mything, with its two signals.

Every write inside mything appends an event to its ledger, and announces it:

- ``mything.event_recorded`` inside the write's transaction: raising an
  :class:`~mything.ApiException` there refuses the write, and the client
  gets that error. Here: no note may be titled "TODO".
- ``mything.event_committed`` once the write is kept: here, a search index
  of the host's own learns about new and deleted notes. A receiver that
  fails is logged, and the client still gets its answer.

The receivers are module-level functions connected with ``sender=thing``:
they hear this instance only, and blinker (which holds receivers weakly)
keeps them as long as this module lives. A lambda would need ``weak=False``.

Run it::

    python examples/signals.py
"""

import tempfile

import mything
from mything import ApiException, MyThing

#: The host's own search index: note ids by title.
search_index: dict[str, int] = {}


def refuse_todo_notes(sender: MyThing, event: dict) -> None:
    if event["type"] == "note.created" and event["data"]["object"]["title"] == "TODO":
        raise ApiException("Write a real title.", 422, code="unhelpful_title")


def index_notes(sender: MyThing, event: dict) -> None:
    note = event["data"]["object"]
    if event["type"] == "note.created":
        search_index[note["title"]] = note["id"]
    elif event["type"] == "note.deleted":
        search_index.pop(note["title"], None)


def main(thing: MyThing) -> None:
    mything.event_recorded.connect(refuse_todo_notes, sender=thing)
    mything.event_committed.connect(index_notes, sender=thing)

    thing.create_user("alice")
    alice = thing.as_user("alice")
    alice.create_organization("acme", name="Acme")
    plan = alice.create_note("acme", title="Plan")
    alice.create_note("acme", title="Budget")
    try:
        alice.create_note("acme", title="TODO")
    except ApiException as exc:
        print("refused:", exc.status, exc.code)
    alice.delete_note("acme", plan["id"])
    print("search index:", sorted(search_index))

    # The audit log shows what was kept, newest first; the refused note is
    # not there, since its event was rolled back with it.
    for event in alice.events("acme")["items"]:
        print(event["sequence"], event["type"], event["data"]["object"].get("title"))


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as directory:
        main(MyThing({"DATABASE_URI": f"sqlite:///{directory}/example.db"}))
