"""Which addresses a webhook may reach: public ones, unless the settings say otherwise.

A webhook URL is whatever an owner typed, so sending to it is a request
made from inside mything's network on a stranger's behalf. Pointed at
``http://169.254.169.254/`` (a cloud's metadata service) or
``http://localhost:6379/`` (Redis), it would reach what no user may, and
the stored response would let them read it: server-side request forgery.
So, unless ``WEBHOOK_ALLOW_HTTP`` and ``WEBHOOK_ALLOW_PRIVATE`` open them:

- a URL must be ``https``, with a host, no user name or password, and at
  most 2,000 characters (:func:`check_url`);
- its host must resolve only to public addresses (:func:`check_host`):
  loopback, private, link-local (the metadata address included), shared,
  multicast, reserved and unspecified addresses are refused, and so is an
  IPv6 address that carries one of those (``::ffff:127.0.0.1``)
  (:func:`is_public`).

Both are checked when a webhook is saved, and :mod:`mything.outbound`
checks the addresses again at every attempt, on the address it connects to.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from urllib.parse import urlsplit, urlunsplit

#: The longest webhook URL accepted.
MAX_URL_LENGTH = 2000

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IPAddress) -> bool:
    """Say whether ``address`` is a public unicast address of the internet.

    An IPv6 address that carries an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``,
    6to4, Teredo) is judged by that IPv4 address as well.
    """
    if isinstance(address, ipaddress.IPv6Address):
        carried = address.ipv4_mapped or address.sixtofour
        if address.teredo is not None:
            carried = address.teredo[1]
        if carried is not None and not is_public(carried):
            return False
        if address.ipv4_mapped is not None:
            # Python counts the whole of ::ffff:0:0/96 as private.
            return True
    return address.is_global and not address.is_multicast


def check_url(url: str, *, allow_http: bool = False) -> str:
    """Return ``url`` ready to store, or raise ``ValueError`` saying what is wrong.

    A host name in another script is stored in its ASCII form (IDNA). The
    addresses are checked by :func:`check_host`.
    """
    if len(url) > MAX_URL_LENGTH:
        raise ValueError(f"must be at most {MAX_URL_LENGTH} characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise ValueError("is not a URL") from None
    schemes = ("https", "http") if allow_http else ("https",)
    if parts.scheme not in schemes:
        raise ValueError(
            "must be an https URL" if not allow_http else "must be an http or https URL"
        )
    if not parts.hostname or any(char.isspace() for char in url):
        raise ValueError("is not a URL with a host")
    if parts.username is not None or parts.password is not None:
        raise ValueError("must not contain a user name or password")
    try:
        host = parts.hostname.encode("idna").decode("ascii")
    except UnicodeError:
        raise ValueError("has a host name that cannot be encoded") from None
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    return urlunsplit((parts.scheme, netloc, parts.path or "/", parts.query, ""))


def check_host(url: str, *, allow_private: bool = False, timeout: float = 5) -> None:
    """Raise ``ValueError`` unless the host of ``url`` resolves to public addresses."""
    parts = urlsplit(url)
    try:
        addresses = resolve(
            parts.hostname or "", parts.port or 443, deadline=time.monotonic() + timeout
        )
    except (OSError, TimeoutError):
        raise ValueError(f"names no host that resolves: {parts.hostname}") from None
    if not allow_private:
        for address in addresses:
            if not is_public(address):
                raise ValueError(
                    f"must reach only public addresses ({parts.hostname} is {address})"
                )


def resolve(host: str, port: int, *, deadline: float) -> list[IPAddress]:
    """Return the addresses of ``host``, or raise ``TimeoutError`` at ``deadline``.

    ``getaddrinfo`` takes no timeout, so it runs in a thread of its own that
    is abandoned, not waited for, when the deadline passes.
    """
    try:
        # An address needs no resolving (and no thread).
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    pool = ThreadPoolExecutor(max_workers=1)
    try:
        future = pool.submit(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        found = future.result(timeout=max(deadline - time.monotonic(), 0))
    except FutureTimeout:
        raise TimeoutError(f"resolving {host} took too long") from None
    finally:
        pool.shutdown(wait=False)
    # The scope of a link-local IPv6 address ("fe80::1%eth0") is dropped.
    return [ipaddress.ip_address(str(entry[4][0]).partition("%")[0]) for entry in found]
