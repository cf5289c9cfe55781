"""mything.Client: its methods, retries, idempotency keys, conditional
requests, bad input and answers that are not mything's.

That its results and errors equal the Python API's is
``test_client_conformance.py``; here the server is a ``MyThing`` behind
``httpx.WSGITransport``, or an ``httpx.MockTransport`` that answers what a
test needs (a proxy's error page, a 503, a lost connection).
"""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import httpx
import pytest

import mything
from mything import ApiException, Client
from mything import client as client_module
from mything.errors import NotFound, PreconditionFailed, RateLimited, Unavailable
from mything.thing import UserApi

CREATING = {"add_member", "invite_member"}


def public_methods(cls: type) -> dict:
    return {
        name: member
        for name, member in vars(cls).items()
        if callable(member) and not name.startswith("_")
    }


# The same methods -------------------------------------------------------------


def test_the_client_has_every_method_of_the_python_api_and_close():
    assert set(public_methods(Client)) == set(public_methods(UserApi)) | {"close"}


@pytest.mark.parametrize("name", sorted(public_methods(UserApi)))
def test_each_method_has_the_signature_of_its_python_twin(name):
    expected = inspect.signature(getattr(UserApi, name))
    if name.startswith("create_") or name in CREATING:
        key = inspect.Parameter(
            "idempotency_key", inspect.Parameter.KEYWORD_ONLY, default=None,
            annotation="str | None",
        )  # fmt: skip
        expected = expected.replace(parameters=[*expected.parameters.values(), key])
    assert inspect.signature(getattr(Client, name)) == expected


@pytest.mark.parametrize("cls", [UserApi, Client])
def test_every_listing_has_an_iter_twin(cls):
    methods = public_methods(cls)
    listings = [
        name
        for name, method in methods.items()
        if "cursor" in inspect.signature(method).parameters
    ]
    assert {"notes", "organizations", "members", "tokens"} <= set(listings)
    for name in listings:
        page = inspect.signature(methods[name])
        twin = inspect.signature(methods[f"iter_{name}"])
        kept = [
            p for p in page.parameters.values() if p.name not in ("limit", "cursor")
        ]
        assert list(twin.parameters.values()) == kept, name


def test_client_is_public():
    assert "Client" in mything.__all__
    assert mything.Client is Client


def test_without_httpx_importing_mything_works_and_the_client_names_the_extra():
    script = textwrap.dedent(
        """
        import sys
        sys.modules["httpx"] = None  # as if it were not installed
        import mything
        mything.MyThing
        try:
            mything.Client
        except ImportError as error:
            print(error)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert "pip install 'mything[client]'" in done.stdout


# In process, through WSGITransport -------------------------------------------


@pytest.fixture
def alice_client(thing, alice):
    transport = httpx.WSGITransport(app=thing)
    with Client("http://testserver", alice.token, transport=transport) as client:
        yield client


def test_a_host_tests_with_the_client_in_process(alice_client):
    alice_client.create_organization("acme", name="Acme")
    notes = [alice_client.create_note("acme", title=f"n{i}") for i in range(25)]
    assert list(alice_client.iter_notes("acme")) == notes[::-1]


def test_the_request_id_of_an_error_is_the_answers(thing, alice):
    seen = []

    def record(request):
        response = httpx.WSGITransport(app=thing).handle_request(request)
        seen.append(response.headers["X-Request-ID"])
        return response

    transport = httpx.MockTransport(record)
    with Client("http://testserver", alice.token, transport=transport) as client:
        with pytest.raises(NotFound) as raised:
            client.organization("acme")
    assert raised.value.request_id == seen[0]


def test_if_match_is_sent_as_the_notes_etag(thing, alice):
    sent = []

    def record(request):
        sent.append(request.headers.get("If-Match"))
        return httpx.WSGITransport(app=thing).handle_request(request)

    transport = httpx.MockTransport(record)
    with Client("http://testserver", alice.token, transport=transport) as client:
        client.create_organization("acme", name="Acme")
        note = client.create_note("acme", title="t")
        client.update_note("acme", note["id"], if_match=1, title="u")
        client.update_note("acme", note["id"], if_match="*", title="v")
        with pytest.raises(PreconditionFailed):
            client.delete_note("acme", note["id"], if_match=1)
    assert sent[2:] == [f'"{note["id"]}-1"', "*", f'"{note["id"]}-1"']


@pytest.mark.parametrize(
    ("method", "args"),
    [
        ("note", ("acme", "1/../../me")),
        ("note", ("acme/../me", 1)),
        ("note", ("acme", 0)),
        ("token", (True,)),
        ("revoke_token", ("1?x=1",)),
        ("remove_member", ("acme", "bob/../../me")),
        ("update_note", ("acme", "1/..")),
    ],
)
def test_ids_are_checked_before_any_request(method, args):
    sent = []
    transport = httpx.MockTransport(lambda request: sent.append(request))
    with Client("http://testserver", "t", transport=transport) as client:
        with pytest.raises(NotFound):
            getattr(client, method)(*args)
    assert sent == []


def test_dot_names_stay_one_segment():
    sent = []

    def record(request):
        sent.append(request.url.raw_path)
        return httpx.Response(204)

    transport = httpx.MockTransport(record)
    with Client("http://testserver/api", "t", transport=transport) as client:
        client.remove_member("acme", "..")
        client.remove_member("acme", "a b?")
    assert sent == [
        b"/api/orgs/acme/members/%2E%2E",
        b"/api/orgs/acme/members/a%20b%3F",
    ]


def test_the_context_manager_closes_the_connections():
    closed = []

    class Transport(httpx.MockTransport):
        def close(self):
            closed.append(True)

    with Client("http://testserver", transport=Transport(lambda r: None)):
        pass
    assert closed == [True]


# Retries ---------------------------------------------------------------------


@pytest.fixture
def waits(monkeypatch):
    """The waits between attempts, recorded instead of slept."""
    waited: list[float] = []
    monkeypatch.setattr(client_module.time, "sleep", waited.append)
    return waited


class Server:
    """A mock server: answers from a script, and records every request."""

    def __init__(self, *answers):
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []

    def __call__(self, request):
        self.requests.append(request)
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self, **options):
        transport = httpx.MockTransport(self)
        return Client("http://testserver", "t", transport=transport, **options)


def error(status, code, headers=None):
    body = {"message": "m", "status": status, "code": code, "request_id": "r"}
    return httpx.Response(status, json=body, headers=headers)


OK = httpx.Response(200, json={"name": "alice", "organizations": []})
CREATED = httpx.Response(201, json={"slug": "acme"})
LOST = httpx.ReadError("connection reset")
REFUSED = httpx.ConnectError("connection refused")


@pytest.mark.parametrize(
    "failure",
    [
        error(503, "unavailable"),
        error(502, "bad_gateway"),
        error(504, "gateway_timeout"),
        error(429, "rate_limited"),
        LOST,
        REFUSED,
        httpx.ReadTimeout("slow"),
    ],
)
def test_a_read_is_retried_after_a_passing_failure(waits, failure):
    server = Server(failure, OK)
    assert server.client().me() == OK.json()
    assert len(server.requests) == 2
    assert len(waits) == 1 and 0 < waits[0] <= client_module.BACKOFF


def test_retries_stop_after_retries_with_the_last_answers_error(waits):
    server = Server(error(503, "unavailable"))
    with pytest.raises(Unavailable) as raised:
        server.client(retries=3).me()
    assert raised.value.status == 503
    assert len(server.requests) == 4
    assert waits == sorted(waits) or len(waits) == 3


def test_a_lasting_connection_error_is_raised_as_httpx_raised_it(waits):
    server = Server(REFUSED)
    with pytest.raises(httpx.ConnectError):
        server.client(retries=1).me()
    assert len(server.requests) == 2


def test_retry_after_is_honoured(waits):
    server = Server(error(429, "rate_limited", {"Retry-After": "7"}), OK)
    server.client().me()
    assert waits == [7.0]


@pytest.mark.parametrize(
    "retry_after", ["Wed, 21 Oct 2015 07:28:00 GMT", "36000", "61", "-1", "1.5", "soon"]
)
def test_a_retry_after_that_is_a_date_or_too_long_ends_the_call(waits, retry_after):
    server = Server(error(429, "rate_limited", {"Retry-After": retry_after}), OK)
    with pytest.raises(RateLimited) as raised:
        server.client().me()
    assert raised.value.status == 429
    assert waits == [] and len(server.requests) == 1


def test_the_retry_after_cap_can_be_raised(waits):
    server = Server(error(429, "rate_limited", {"Retry-After": "120"}), OK)
    server.client(max_retry_after=300).me()
    assert waits == [120.0]


def test_a_create_sends_one_idempotency_key_on_every_attempt(waits):
    server = Server(LOST, error(503, "unavailable"), CREATED)
    client = server.client()
    client.create_organization("acme", name="Acme")
    client.create_organization("acme", name="Acme")
    keys = [request.headers["Idempotency-Key"] for request in server.requests]
    assert len(keys) == 4
    assert keys[0] == keys[1] == keys[2] != keys[3]


def test_a_callers_idempotency_key_is_sent(waits):
    server = Server(CREATED)
    server.client().create_note("acme", title="t", idempotency_key="k-1")
    assert server.requests[0].headers["Idempotency-Key"] == "k-1"


def test_a_retried_create_creates_once(thing, alice, waits):
    answered = []

    def lose_the_first_answer(request):
        response = httpx.WSGITransport(app=thing).handle_request(request)
        answered.append(response.status_code)
        if len(answered) == 1:
            raise httpx.ReadError("the answer was lost")
        return response

    transport = httpx.MockTransport(lose_the_first_answer)
    with Client("http://testserver", alice.token, transport=transport) as client:
        client.create_organization("acme", name="Acme")
        note = client.create_note("acme", title="once")
    assert answered == [201, 201, 201]
    assert thing.as_user("alice").notes("acme")["items"] == [note]


@pytest.mark.parametrize(
    "failure", [error(503, "unavailable"), error(502, "bad_gateway"), LOST]
)
def test_a_patch_without_if_match_is_not_retried_once_it_may_have_arrived(
    waits, failure
):
    server = Server(failure, OK)
    with pytest.raises((ApiException, httpx.ReadError)):
        server.client().update_note("acme", 1, title="t")
    assert len(server.requests) == 1


@pytest.mark.parametrize("failure", [REFUSED, error(429, "rate_limited")])
def test_a_patch_without_if_match_is_retried_when_it_was_not_acted_on(waits, failure):
    server = Server(failure, OK)
    server.client().update_note("acme", 1, title="t")
    assert len(server.requests) == 2


def test_a_patch_with_if_match_is_retried_as_it_is(waits):
    server = Server(LOST, error(503, "unavailable"), OK)
    server.client().update_note("acme", 1, if_match=3, title="t")
    assert [r.headers["If-Match"] for r in server.requests] == ['"1-3"'] * 3
    assert len({r.content for r in server.requests}) == 1


def test_a_delete_is_retried(waits):
    server = Server(error(502, "bad_gateway"), httpx.Response(204))
    assert server.client().delete_note("acme", 1) is None
    assert len(server.requests) == 2


def test_retries_0_makes_one_attempt(waits):
    server = Server(error(503, "unavailable"), OK)
    with pytest.raises(Unavailable):
        server.client(retries=0).me()
    assert waits == []


# Bad input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {"base_url": "example.com"},
        {"base_url": "example.com/api"},
        {"base_url": "ftp://example.com"},
        {"base_url": "http://"},
        {"base_url": ""},
        {"timeout": -1},
        {"timeout": 0},
        {"timeout": "10"},
        {"retries": -1},
        {"retries": 1.5},
        {"retries": True},
        {"max_retry_after": -1},
    ],
)
def test_bad_options_are_a_value_error_at_construction(options):
    options = {"base_url": "http://testserver", **options}
    with pytest.raises(ValueError):
        Client(**options)


@pytest.mark.parametrize(
    "answer",
    [
        httpx.Response(502, html="<html><body>Bad Gateway</body></html>"),
        httpx.Response(200, html="<html>Welcome to nginx</html>"),
        httpx.Response(500, content=b""),
        httpx.Response(200, content=b""),
        httpx.Response(404, json={"error": "not found"}),
        httpx.Response(400, json=["not", "an", "object"]),
        httpx.Response(200, json=[1, 2]),
        httpx.Response(
            403, content=b"{broken", headers={"Content-Type": "application/json"}
        ),
        httpx.Response(302, headers={"Location": "http://elsewhere/login"}),
    ],
)
def test_an_answer_that_is_not_mythings_is_an_unexpected_response(waits, answer):
    server = Server(answer)
    with pytest.raises(ApiException) as raised:
        server.client(retries=0).me()
    assert type(raised.value) is ApiException
    assert raised.value.code == "unexpected_response"
    assert raised.value.status == answer.status_code
    assert str(answer.status_code) in raised.value.message


def test_an_error_code_the_client_does_not_know_keeps_its_code_and_status(waits):
    server = Server(error(418, "im_a_teapot"))
    with pytest.raises(ApiException) as raised:
        server.client().me()
    assert (raised.value.status, raised.value.code) == (418, "im_a_teapot")


def test_every_error_class_is_mapped_from_its_code():
    for code, error_class in client_module.ERROR_CLASSES.items():
        assert error_class.code == code
    assert client_module.ERROR_CLASSES["precondition_failed"] is PreconditionFailed
