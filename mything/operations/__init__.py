"""mything's operations, each implemented once for HTTP, Python and the CLI.

One module per resource, each with its statements beside it:

- :mod:`~mything.operations.users`: who uses mything (``/me``);
- :mod:`~mything.operations.organizations`: organizations and their members;
- :mod:`~mything.operations.invitations`: invitations to join an organization;
- :mod:`~mything.operations.notes`: an organization's notes;
- :mod:`~mything.operations.tokens`: the tokens users hold;
- :mod:`~mything.operations.demo`: ``/add``.

Blueprints call these functions after validating a request; the Python API
(:class:`~mything.thing.UserApi`) and the administrative calls
(:mod:`mything.admin`) call them after validating their arguments with the
same schemas. They work on the current app context's connection
(:func:`~mything.db.get_db`), read no HTTP, and return JSON-ready values,
so what Python callers get equals what HTTP clients read.

Security rests on one rule: every organization-scoped query starts from
:data:`~mything.operations.tenancy.MEMBER_ORGANIZATIONS`, the fixed filter of
the organizations a user belongs to. A user who is not a member of an
organization cannot tell it from one that does not exist: both are the same
404.

Which module to copy for a new resource: ``organizations`` (plain
statements, one per step, easy to follow); ``notes`` is the example of
speed, where each trick is marked ``# PERF:`` with its measurement
(``docs/architecture.md``, "Adding a resource").
"""
