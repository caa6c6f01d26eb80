"""A throwaway PostgreSQL server, for the production tests and the benchmark (benchmarks/backfill.py).

`running()` initialises a cluster in a temporary directory with Debian's binaries
(/usr/lib/postgresql/<version>/bin; as the `postgres` OS user when run as root, since initdb
refuses root), starts it on 127.0.0.1 on a free port with password authentication, and stops it
and removes the directory on exit. `unavailable()` says why it cannot start here, or None.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def postgres_bindir() -> Path | None:
    """The newest /usr/lib/postgresql/<major>/bin that has initdb and pg_ctl."""
    found = [p.parent for p in Path("/usr/lib/postgresql").glob("*/bin/initdb") if (p.parent / "pg_ctl").exists()]
    found.sort(key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0)
    return found[-1] if found else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass(frozen=True)
class PostgresServer:
    bindir: Path
    host: str
    port: int
    user: str
    password: str

    def url(self, db: str) -> str:
        return f"postgresql://{self.user}:{self.password}@{self.host}:{self.port}/{db}"

    def connect(self, db: str = "postgres"):
        import psycopg2

        return psycopg2.connect(host=self.host, port=self.port, user=self.user, password=self.password, dbname=db)

    def create_database(self, name: str) -> str:
        con = self.connect()
        try:
            con.autocommit = True
            with con.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{name}"')
        finally:
            con.close()
        return name

    def env(self, db: str, port: int | None = None) -> dict[str, str]:
        """The variables deploy/dagster.yaml reads (`port`: connect through another port, e.g. a proxy)."""
        return {"DAGSTER_PG_HOST": self.host, "DAGSTER_PG_PORT": str(port or self.port), "DAGSTER_PG_USER": self.user,
                "DAGSTER_PG_PASSWORD": self.password, "DAGSTER_PG_DB": db}


def _run(cmd: list[str], what: str) -> subprocess.CompletedProcess:
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return done


def unavailable() -> str | None:
    """Why a server cannot be started on this machine, or None."""
    if postgres_bindir() is None:
        return "PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin (apt-get install postgresql)"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root and there is no `postgres` OS user to run initdb as"
    return None


@contextlib.contextmanager
def running() -> Iterator[PostgresServer]:
    reason = unavailable()
    if reason:
        raise RuntimeError(reason)
    bindir = postgres_bindir()
    as_postgres: list[str] = []
    owner = None
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        as_postgres = ["runuser", "-u", "postgres", "--"]
    root = Path(tempfile.mkdtemp(prefix="nba-precompute-pg-"))
    if owner is not None:
        os.chown(root, owner.pw_uid, owner.pw_gid)
    data, log = root / "data", root / "server.log"
    password = secrets.token_hex(12)
    pwfile = root / "pw"
    pwfile.write_text(password + "\n")
    if owner is not None:
        os.chown(pwfile, owner.pw_uid, owner.pw_gid)
    port = free_port()
    server = PostgresServer(bindir, "127.0.0.1", port, "dagster", password)
    started = False
    try:
        _run([*as_postgres, str(bindir / "initdb"), "-D", str(data), "-U", server.user, "--pwfile", str(pwfile),
              "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-sync"], "initdb")
        options = f"-h 127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200"
        _run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "-t", "60",
              "start"], "pg_ctl start")
        started = True
        yield server
    finally:
        if started:
            subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop"],
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)
