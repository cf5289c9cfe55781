"""What each view declares about itself, in one typed object.

The decorators at the edge of a view (validation, authentication, rate
limits, idempotency, preconditions, :func:`returns`) each do their work and
also write down what they mean in the view's :class:`Endpoint`::

    @blueprint.post("/orgs/<slug>/notes")
    @authenticated                  # requires_auth = True
    @idempotent                     # idempotent = True
    @dataschema(NEW_NOTE)           # body_schema = NEW_NOTE
    @returns(NOTE, 201)             # response_schema, response_status
    def create_note(caller, slug, **fields): ...

The OpenAPI document and the edge (:mod:`mything.edge`) read it
back with :func:`endpoint_of`; nothing else is attached to view functions.
The object lives in the function's ``__dict__``, which
:func:`functools.wraps` carries from each wrapped function to its wrapper,
so every decorator of one view fills in the same :class:`Endpoint`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

F = TypeVar("F", bound=Callable[..., Any])

_ATTRIBUTE = "mything_endpoint"


@dataclass
class Endpoint:
    """Everything the decorators of one view declare about it."""

    #: The voluptuous schema of the JSON body (:func:`~mything.validation.dataschema`).
    body_schema: Any = None
    #: The schema of the query string (:func:`~mything.validation.argsschema`).
    query_schema: Any = None
    #: Whether a caller is required (:func:`~mything.auth.authenticated`).
    requires_auth: bool = False
    #: What a success answers with, and its status (:func:`returns`).
    response_schema: Any = None
    response_status: int = 200
    #: Headers a success carries besides the usual ones (``ETag``).
    response_headers: tuple[str, ...] = ()
    #: Other successes the view may answer with instead, by status: when a
    #: setting changes what it does (:func:`returns`'s ``also``).
    other_responses: dict[int, Any] = field(default_factory=dict)
    #: True for probes and documentation (:func:`public`): no credentials
    #: are looked at and no limit is charged.
    public: bool = False
    #: False for answers that are not JSON, such as the docs page.
    documented: bool = True
    #: Whether an ``Idempotency-Key`` makes retries safe.
    idempotent: bool = False
    #: Which conditional headers apply: a read or a write of a versioned
    #: resource (:mod:`mything.conditional`), or none.
    preconditions: Literal["read", "write"] | None = None


def endpoint_of(view: Callable[..., Any]) -> Endpoint:
    """Return the :class:`Endpoint` of ``view``, creating it on first use."""
    attributes = vars(view)
    endpoint = attributes.get(_ATTRIBUTE)
    if endpoint is None:
        endpoint = attributes[_ATTRIBUTE] = Endpoint()
    assert isinstance(endpoint, Endpoint)
    return endpoint


def returns(
    schema: Any,
    status: int = 200,
    *,
    headers: Sequence[str] = (),
    also: dict[int, Any] | None = None,
) -> Callable[[F], F]:
    """Declare what a view answers on success, for the OpenAPI document.

    ``headers`` names response headers described in the document's
    components (``"ETag"``), beyond those every answer carries. ``also``
    maps each other success status the view may answer with to its schema.
    """

    def decorator(view: F) -> F:
        endpoint = endpoint_of(view)
        endpoint.response_schema, endpoint.response_status = schema, status
        endpoint.response_headers = tuple(headers)
        endpoint.other_responses = dict(also or {})
        return view

    return decorator


def public(view: F) -> F:
    """Mark ``view`` as public: probes and documentation answer everyone alike."""
    endpoint_of(view).public = True
    return view


def undocumented(view: F) -> F:
    """Leave ``view`` out of the OpenAPI document (answers that are not JSON)."""
    endpoint_of(view).documented = False
    return view
