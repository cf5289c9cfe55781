"""Run a private, throwaway PostgreSQL cluster for tests that stop and start it.

::

    with postgresql_cluster() as cluster:
        engine = create_engine(cluster.uri)
        cluster.stop()      # pg_ctl stop -m fast: every session is cut off
        cluster.start()     # the same data again, on the same port

The cluster is made by ``initdb`` in a temporary directory, listens on a free
loopback port (its Unix socket lives in that directory, never in the
system's), and is stopped and deleted when the block ends. PostgreSQL will
not run as root, so under root the server runs as the ``postgres`` user.
Without ``initdb`` (on the ``PATH`` or under ``/usr/lib/postgresql``) the
test is skipped through :func:`helpers.services.unavailable`.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from helpers.processes import free_port
from helpers.services import unavailable

#: Seconds that initdb or pg_ctl may take before the cluster counts as broken.
TIMEOUT = 60


def find_bindir() -> Path | None:
    """Return the directory of ``initdb`` and ``pg_ctl``, newest version first."""
    initdb = shutil.which("initdb")
    if initdb is not None:
        return Path(initdb).parent
    installed = [
        path.parent
        for path in Path("/usr/lib/postgresql").glob("*/bin/initdb")
        if path.parent.parent.name.isdigit()
    ]
    if not installed:
        return None
    return max(installed, key=lambda bindir: int(bindir.parent.name))


class PostgreSQLCluster:
    """One PostgreSQL server and its data directory, started and stopped at will."""

    def __init__(self, bindir: Path, directory: Path, *, user: str | None) -> None:
        self.bindir = bindir
        self.directory = directory
        self.data = directory / "data"
        self.log = directory / "postgresql.log"
        self.user = user
        self.port = free_port()

    @property
    def uri(self) -> str:
        """The SQLAlchemy URI of the cluster's ``postgres`` database."""
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        """Create the cluster; its superuser ``postgres`` needs no password."""
        self._run(
            "initdb",
            *("-D", str(self.data), "-U", "postgres", "-A", "trust"),
            *("-E", "UTF8", "--no-sync", "--no-instructions"),
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        settings = {
            "listen_addresses": "127.0.0.1",
            "port": str(self.port),
            "unix_socket_directories": str(self.directory),
            # The tests stop the server cleanly, which writes everything
            # out; only a crash of the machine would need fsync.
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

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast``: cut every session off) and wait for it."""
        self._run(
            "pg_ctl",
            *("stop", "-D", str(self.data), "-m", mode, "-w", "-t", str(TIMEOUT)),
        )

    def is_running(self) -> bool:
        """Return whether the server is running."""
        status = subprocess.run(
            [self.bindir / "pg_ctl", "status", "-D", str(self.data)],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            user=self.user,
            timeout=TIMEOUT,
        )
        return status.returncode == 0

    def _run(self, program: str, *args: str) -> None:
        # The server that pg_ctl starts writes to the log file, not to these
        # pipes, so capturing the output does not wait for the server to end.
        finished = subprocess.run(
            [self.bindir / program, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            user=self.user,
            timeout=TIMEOUT,
        )
        if finished.returncode != 0:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(
                f"{program} {args[0]} failed with {finished.returncode}:\n"
                f"{finished.stdout}{finished.stderr}\n{log[-2000:]}"
            )


@contextlib.contextmanager
def postgresql_cluster() -> Iterator[PostgreSQLCluster]:
    """Create and start a private cluster; stop and delete it when the block ends."""
    bindir = find_bindir()
    if bindir is None:
        unavailable("PostgreSQL's initdb is not installed")
    user = _server_user()
    # Not pytest's tmp_path: under root its parents are closed to other users.
    directory = Path(tempfile.mkdtemp(prefix="mything-postgresql-"))
    try:
        if user is not None:
            account = pwd.getpwnam(user)
            os.chown(directory, account.pw_uid, account.pw_gid)
        cluster = PostgreSQLCluster(bindir, directory, user=user)
        cluster.init()
        cluster.start()
        try:
            yield cluster
        finally:
            if cluster.is_running():
                cluster.stop("immediate")
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def _server_user() -> str | None:
    """Return the user to run the server as, or None for the current one."""
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        unavailable("PostgreSQL will not run as root, and there is no postgres user")
    return "postgres"
