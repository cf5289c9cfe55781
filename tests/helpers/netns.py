"""A database host that can drop off the network: a namespace behind a veth pair.

::

    with network_namespace() as namespace, postgresql_cluster_in(namespace) as pg:
        engine = create_engine(pg.uri)  # reaches the server over the veth pair
        namespace.cut()                 # its packets are now lost, not refused
        namespace.restore()

The namespace gets a unique name and one end of a veth pair; the other end
stays on the host. Both ends get addresses of a private /30 that no address
or route of the host overlaps, so the test only ever talks to itself. The
PostgreSQL cluster of :mod:`helpers.pg_cluster` runs inside the namespace,
listening on its end's address.

:meth:`Namespace.cut` sets the namespace's end down. The host's end stays
up, without a carrier: its route stays, and every packet sent to the server
is dropped by the veth, unanswered, as when a host crashes or a cable is
pulled. The host keeps the namespace's hardware address (a permanent
neighbour entry), so that no failing ARP reports the loss either: only
TCP's own timers can find it out, as for a host beyond a router.

(Setting the host's end down instead would delete the route: the kernel
would refuse connections at once, or send them along the default route to
a network that is no part of the test. A proxy that stops forwarding
would not do either: the kernel still acknowledges what it is sent, and
TCP never notices a loss.)

Creating a namespace needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN); without
it, or without ``ip``, the test is skipped through
:func:`helpers.services.unavailable`.
Everything is removed when the blocks end, even when the test fails.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import pwd
import random
import shlex
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from helpers.pg_cluster import TIMEOUT, PostgreSQLCluster, _server_user, find_bindir
from helpers.services import unavailable

IP = shutil.which("ip") or "/usr/sbin/ip"


def ip(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run ``ip ARGS``; raise with its output if it fails and ``check``."""
    finished = subprocess.run(
        [IP, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    if check and finished.returncode != 0:
        raise RuntimeError(
            f"ip {shlex.join(args)} failed with {finished.returncode}: "
            f"{finished.stderr.strip()}"
        )
    return finished


@dataclass(frozen=True)
class Namespace:
    """A network namespace reached from the host over a veth pair."""

    name: str
    host_link: str
    peer_link: str
    host_address: ipaddress.IPv4Interface
    peer_address: ipaddress.IPv4Interface

    @property
    def address(self) -> str:
        """The address of the namespace's end, where its servers listen."""
        return str(self.peer_address.ip)

    def command(self, *argv: str) -> list[str]:
        """Return ``argv`` as a command that runs inside the namespace."""
        return [IP, "netns", "exec", self.name, *argv]

    def cut(self) -> None:
        """Set the namespace's end of the link down: packets to it are lost."""
        ip("-n", self.name, "link", "set", self.peer_link, "down")

    def dropped(self) -> int:
        """Return how many packets the host's end has dropped, unsent."""
        statistics = Path("/sys/class/net", self.host_link, "statistics")
        return int((statistics / "tx_dropped").read_text())

    def restore(self) -> None:
        """Set the namespace's end of the link up again."""
        ip("-n", self.name, "link", "set", self.peer_link, "up")


def free_network() -> ipaddress.IPv4Network:
    """Return a private /30 that no address or route of the host overlaps."""
    taken = []
    for line in ip("-4", "-o", "address", "show").stdout.splitlines():
        taken.append(ipaddress.IPv4Interface(line.split()[3]).network)
    for line in ip("-4", "route", "show", "table", "all").stdout.splitlines():
        destination = line.split()[0]
        if destination[0].isdigit():
            taken.append(ipaddress.IPv4Network(destination, strict=False))
    candidates = list(ipaddress.IPv4Network("10.213.0.0/16").subnets(new_prefix=30))
    random.shuffle(candidates)
    for network in candidates[:200]:
        if not any(network.overlaps(other) for other in taken):
            return network
    raise RuntimeError("no free /30 in 10.213.0.0/16 for a test namespace")


@contextlib.contextmanager
def network_namespace() -> Iterator[Namespace]:
    """Create a namespace linked to the host by a veth pair; delete it after."""
    if shutil.which(IP) is None:
        unavailable("iproute2's ip is not installed")
    suffix = uuid.uuid4().hex[:8]
    name = f"mything-{suffix}"
    added = ip("netns", "add", name, check=False)
    if added.returncode != 0:
        unavailable(
            f"cannot create a network namespace (ip netns add: "
            f"{added.stderr.strip()}); this needs root, with CAP_SYS_ADMIN "
            "and CAP_NET_ADMIN"
        )
    try:
        network = free_network()
        host, peer = list(network.hosts())
        namespace = Namespace(
            name=name,
            # Interface names have at most 15 characters.
            host_link=f"mth{suffix}",
            peer_link=f"mtn{suffix}",
            host_address=ipaddress.IPv4Interface(f"{host}/{network.prefixlen}"),
            peer_address=ipaddress.IPv4Interface(f"{peer}/{network.prefixlen}"),
        )
        paired = ip(
            "link",
            *("add", namespace.host_link, "type", "veth"),
            *("peer", "name", namespace.peer_link, "netns", name),
            check=False,
        )
        if paired.returncode != 0:
            unavailable(f"cannot create a veth pair: {paired.stderr.strip()}")
        try:
            host_address = str(namespace.host_address)
            ip("address", "add", host_address, "dev", namespace.host_link)
            ip("link", "set", namespace.host_link, "up")
            ip("-n", name, "link", "set", "lo", "up")
            ip(
                "-n",
                name,
                *("address", "add", str(namespace.peer_address)),
                *("dev", namespace.peer_link),
            )
            ip("-n", name, "link", "set", namespace.peer_link, "up")
            # The host knows the namespace's hardware address for good, as
            # it would know its router's: a lost host is then found out by
            # TCP's timers alone. Otherwise ARP, failing a second after the
            # cut, would report the host unreachable sooner than a host
            # beyond a router ever is.
            link = json.loads(
                ip("-n", name, "-j", "link", "show", namespace.peer_link).stdout
            )
            ip(
                *("neighbour", "replace", namespace.address),
                *("lladdr", link[0]["address"], "dev", namespace.host_link),
                *("nud", "permanent"),
            )
            yield namespace
        finally:
            # Deleting one end deletes the pair; the namespace would too,
            # but only once nothing runs in it any more.
            ip("link", "delete", namespace.host_link, check=False)
    finally:
        ip("netns", "delete", name, check=False)


class NamespacedCluster(PostgreSQLCluster):
    """A cluster of :mod:`helpers.pg_cluster` whose server runs in a namespace."""

    def __init__(
        self, namespace: Namespace, bindir: Path, directory: Path, *, user: str | None
    ) -> None:
        super().__init__(bindir, directory, user=user)
        self.namespace = namespace
        # The namespace has ports of its own; any will do.
        self.port = 5432

    @property
    def uri(self) -> str:
        """The SQLAlchemy URI of the ``postgres`` database, over the veth pair."""
        return (
            f"postgresql+psycopg://postgres@{self.namespace.address}:{self.port}"
            "/postgres"
        )

    def init(self) -> None:
        """Create the cluster, and let the host's end of the link in without a password.

        initdb trusts only loopback and the Unix socket.
        """
        super().init()
        network = self.namespace.peer_address.network
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"host all all {network} trust\n")

    def start(self) -> None:
        """Start the server in the namespace, listening on the namespace's end."""
        settings = {
            "listen_addresses": self.namespace.address,
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
            "fsync": "off",
        }
        options = " ".join(
            f"-c {shlex.quote(f'{name}={value}')}" for name, value in settings.items()
        )
        self._run(
            "pg_ctl",
            *("start", "-D", str(self.data), "-l", str(self.log)),
            *("-w", "-t", str(TIMEOUT), "-o", options),
        )

    def _run(self, program: str, *args: str) -> None:
        # ``ip netns exec`` needs root, so the server's user is taken on
        # inside the namespace, by setpriv, rather than by subprocess.
        command = [str(self.bindir / program), *args]
        if self.user is not None:
            account = pwd.getpwnam(self.user)
            command = [
                "setpriv",
                f"--reuid={account.pw_uid}",
                f"--regid={account.pw_gid}",
                "--init-groups",
                *command,
            ]
        finished = subprocess.run(
            self.namespace.command(*command),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        if finished.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(
                f"{program} {args[0]} failed with {finished.returncode}:\n"
                f"{finished.stdout}{finished.stderr}\n{log[-2000:]}"
            )


@contextlib.contextmanager
def postgresql_cluster_in(namespace: Namespace) -> Iterator[NamespacedCluster]:
    """Like ``postgresql_cluster`` of :mod:`helpers.pg_cluster`, in ``namespace``."""
    bindir = find_bindir()
    if bindir is None:
        unavailable("PostgreSQL's initdb is not installed")
    if shutil.which("setpriv") is None:
        unavailable("util-linux's setpriv is not installed")
    user = _server_user()
    directory = Path(tempfile.mkdtemp(prefix="mything-postgresql-"))
    try:
        if user is not None:
            account = pwd.getpwnam(user)
            os.chown(directory, account.pw_uid, account.pw_gid)
        cluster = NamespacedCluster(namespace, bindir, directory, user=user)
        cluster.init()
        cluster.start()
        try:
            yield cluster
        finally:
            if cluster.is_running():
                cluster.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)
