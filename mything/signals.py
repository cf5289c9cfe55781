"""Signals a host connects to, to act on what happens inside mything.

Every write appends one event to the ledger (:mod:`mything.operations.events`),
and each event is announced twice, with blinker, the library Flask's own
signals use::

    import mything

    @mything.event_committed.connect_via(thing)
    def on_committed(sender, event):
        if event["type"] == "note.created":
            search_index.add(event["data"]["object"])

- :data:`event_recorded` is sent inside the write's transaction, before it
  commits. A receiver that raises an :class:`~mything.errors.ApiException`
  vetoes the write: nothing is kept, and the client gets that error (any
  other exception is a 500, and nothing is kept either). Use it to refuse,
  not to act: the write may still fail after it.
- :data:`event_committed` is sent after the commit, once the write is kept.
  A receiver that raises is logged with the request id; the client still
  gets its answer and nothing is undone. Keep receivers quick, since the
  answer waits for them, and hand slow work to a queue.

Both are sent with ``sender`` the :class:`~mything.MyThing` (or the Flask app
of a bare :func:`~mything.create_app`) and the event as ``event=``: the same
dict the audit log shows. ``connect(receiver, sender=thing)`` (or
``connect_via(thing)``) hears only that instance; without a sender, a
receiver hears every instance in the process.

Blinker holds receivers by weak reference unless connected with
``weak=False``: a receiver that nothing else references is disconnected as
soon as it is garbage collected. A module-level function lives as long as
its module, but a lambda or a function defined inside another function is
gone when that scope ends, and silently stops receiving. Connect those with
``weak=False`` (and disconnect them yourself), or use
``signal.connected_to(receiver, sender=thing)`` in tests.
"""

from __future__ import annotations

from blinker import Namespace

# Signals of their own namespace, as Flask's are: named "mything.*", and not
# in blinker's global registry, where another library could reuse the names.
_signals = Namespace()

#: Sent inside the transaction of a write, before it commits; may veto it.
event_recorded = _signals.signal(
    "mything.event_recorded",
    doc="Sent with sender=the MyThing and event=the event, before the commit.",
)

#: Sent once a write is committed; a failing receiver is logged, nothing more.
event_committed = _signals.signal(
    "mything.event_committed",
    doc="Sent with sender=the MyThing and event=the event, after the commit.",
)
