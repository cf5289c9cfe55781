"""examples/nginx.conf in front of gunicorn: slow clients cannot stall the workers.

These tests start real nginx and gunicorn processes, so they are marked
``slow``.
"""

from __future__ import annotations

import os
import shutil
import socket
import time
from pathlib import Path

import pytest
import requests
from helpers.processes import free_port, gunicorn, serving

pytestmark = pytest.mark.slow

EXAMPLES = Path(__file__).parent.parent / "examples"
NGINX = shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/sbin")
WORKERS = 2
#: How long the slow clients are held, and probed through.
HELD_FOR = 12.0


def nginx_config(directory: Path, *, port: int, upstream: str) -> Path:
    """Write examples/nginx.conf with the test's ports; return its path."""
    text = (EXAMPLES / "nginx.conf").read_text()
    assert "server 127.0.0.1:8000;" in text and "listen 8080;" in text
    text = text.replace("server 127.0.0.1:8000;", f"server {upstream};")
    text = text.replace("listen 8080;", f"listen 127.0.0.1:{port};")
    path = directory / "nginx.conf"
    path.write_text(text)
    return path


@pytest.fixture
def proxied(tmp_path):
    """gunicorn as examples/gunicorn.conf.py sets it up, behind examples/nginx.conf."""
    if NGINX is None:
        pytest.skip("needs nginx (apt-get install nginx)")
    env = {
        "MYTHING_DATABASE_URI": f"sqlite:///{tmp_path / 'proxied.db'}",
        "MYTHING_TRUSTED_PROXIES": "1",
        "MYTHING_RATELIMIT_ENABLED": "off",
    }
    args = ("-c", str(EXAMPLES / "gunicorn.conf.py"))
    with gunicorn("mything:MyThing()", env=env, workers=WORKERS, args=args) as app:
        port = free_port()
        config = nginx_config(tmp_path, port=port, upstream=app.split("//")[1])
        # As root, nginx's workers would run as nobody, who may not enter
        # the test's directory.
        globals_ = "daemon off;" + (" user root;" if os.geteuid() == 0 else "")
        command = [NGINX, "-p", str(tmp_path), "-c", str(config), "-e", "stderr"]
        with serving(
            [*command, "-g", globals_], port=port, output=tmp_path / "nginx.log"
        ) as url:
            yield url


def slow_headers(port: int) -> socket.socket:
    """A client that has sent a request line and one header, and is thinking."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
    return sock


def short_body(port: int) -> socket.socket:
    """A client that announced 100 bytes of body and sent 10."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    sock.sendall(
        b"POST /add HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
        b'{"a": 1, "'
    )
    return sock


def test_slow_clients_cannot_stall_the_workers_behind_nginx(proxied):
    port = int(proxied.rsplit(":", 1)[1])
    # Twice as many slow clients as there are workers: without nginx, each
    # would hold a sync worker until gunicorn's timeout.
    clients = [slow_headers(port) for _ in range(WORKERS)]
    clients += [short_body(port) for _ in range(WORKERS)]
    probes = []
    try:
        started = time.monotonic()
        while time.monotonic() - started < HELD_FOR:
            # The slow clients go on trickling, one header line at a time;
            # one that nginx dropped for its slowness comes back at once.
            for index, sock in enumerate(clients[:WORKERS]):
                try:
                    sock.sendall(b"X-Slow: 1\r\n")
                except OSError:
                    sock.close()
                    clients[index] = slow_headers(port)
            sent = time.monotonic()
            response = requests.get(proxied + "/healthz", timeout=1)
            probes.append(time.monotonic() - sent)
            assert response.status_code == 200
            assert response.json() == {"status": "ok"}
            time.sleep(0.5)
    finally:
        for sock in clients:
            sock.close()
    assert len(probes) >= 10
    # Every probe answered within the issue's second (requests' timeout
    # above would have failed the test otherwise).
    assert max(probes) < 1.0, probes


def test_a_body_of_the_limit_and_a_chunked_body_pass_through_nginx(proxied):
    body = b'{"a": 1, "b": 2, "p": "' + b"x" * (1024 * 1024 - 25) + b'"}'
    assert len(body) == 1024 * 1024
    response = requests.post(
        proxied + "/add", data=body, headers={"Content-Type": "application/json"}
    )
    assert response.json() == {"sum": 3}
    chunked = requests.post(
        proxied + "/add",
        data=iter([b'{"a": 2, ', b'"b": 3}']),
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert chunked.json() == {"sum": 5}


def test_nginx_sets_the_address_mything_trusts(proxied):
    # A client's own X-Forwarded-For is kept first; nginx appends the
    # address it saw, the one that TRUSTED_PROXIES=1 reads.
    response = requests.get(
        proxied + "/add?a=1&b=2",
        headers={"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Host": "evil.example"},
        timeout=10,
    )
    assert response.status_code == 200
    spec = requests.get(
        proxied + "/openapi.json", headers={"X-Forwarded-Host": "evil.example"}
    ).json()
    assert "evil" not in spec["servers"][0]["url"]
