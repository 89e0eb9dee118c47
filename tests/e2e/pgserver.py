"""A real PostgreSQL for the end-to-end tests (users_backend = postgresql).

Debian's postgresql (initdb, pg_ctl, postgres, psql in
/usr/lib/postgresql/VERSION/bin) in a temporary directory, run as an
unprivileged account (uid 65534 when the tests run as root: initdb
refuses root; else the account running the tests), listening on a Unix
socket in that directory and on 127.0.0.1 at a free port. Stopped by PID
(postmaster.pid), never by name.

    pg = PgServer()            # initdb; pg.start(); pg.stop(); pg.restart()
    pg.conninfo()              # libpq string for the server role (keepftpd)
    pg.admin_conninfo()        # ... for the superuser (writes users)
    pg.psql("SELECT 1")        # -At output as text; params as :'v1' ...
    pg.add_user(name, hash, uid, gid, home, flags="")
    pg.close()                 # stop and remove the directory

Reusable by other tests (the 3-node cluster test imports it): nothing here
knows keepftpd but the schema, which is docs/SCALE-OUT.md's.
"""

import glob
import os
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import free_port

IS_ROOT = os.geteuid() == 0
PG_UID = 65534 if IS_ROOT else os.getuid()
PG_GID = 65534 if IS_ROOT else os.getgid()
DB = "ftp"
ROLE = "keepftpd"
ROLE_PASSWORD = "kf-Role-pw'with\"quotes"

# docs/SCALE-OUT.md, "Users in PostgreSQL": the same text
SCHEMA = """
CREATE TABLE keepftpd_users (
    name  text PRIMARY KEY,
    hash  text NOT NULL,
    uid   bigint NOT NULL CHECK (uid BETWEEN 1 AND 4294967294),
    gid   bigint NOT NULL CHECK (gid BETWEEN 1 AND 4294967294),
    home  text NOT NULL,
    flags text NOT NULL DEFAULT ''
);
CREATE TABLE keepftpd_bans (
    id    bigserial PRIMARY KEY,
    addr  inet NOT NULL,
    until timestamptz NOT NULL,
    node  text NOT NULL DEFAULT ''
);
CREATE INDEX keepftpd_bans_until ON keepftpd_bans (until);
"""


def pg_bindir():
    """Debian's newest PostgreSQL bin directory, or None."""
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"),
                  key=lambda d: int(d.split("/")[-2]) if d.split("/")[-2].isdigit() else 0)
    for d in reversed(dirs):
        if os.access(os.path.join(d, "initdb"), os.X_OK):
            return d
    return None


def available():
    return pg_bindir() is not None


def _as_pg():
    """preexec_fn: become the database's unprivileged account."""
    if IS_ROOT:
        os.setgroups([])
        os.setgid(PG_GID)
        os.setuid(PG_UID)


class PgServer:
    def __init__(self, port=None, role_password=ROLE_PASSWORD):
        self.bindir = pg_bindir()
        if self.bindir is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.base = Path(tempfile.mkdtemp(prefix="kf-pg-", dir="/tmp"))
        self.base.chmod(0o755)
        self.data = self.base / "data"
        self.sock = self.base / "sock"
        self.sock.mkdir()
        self.logfile = self.base / "postgres.log"
        self.port = port or free_port()  # not an ephemeral port
        self.role_password = role_password
        self.pid = None
        if IS_ROOT:
            os.chown(self.base, PG_UID, PG_GID)
            os.chown(self.sock, PG_UID, PG_GID)
        self._run([self._bin("initdb"), "-D", str(self.data), "-U", "postgres",
                   "--auth-local=trust", "--auth-host=scram-sha-256",
                   "-E", "UTF8", "--no-instructions"], timeout=120)
        self.start()
        self.psql(f"CREATE DATABASE {DB}", db="postgres")
        self.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD :'pw'", db="postgres",
                  params={"pw": role_password})
        self.psql(SCHEMA)
        self.psql(f"GRANT SELECT ON keepftpd_users TO {ROLE}")
        self.psql(f"GRANT SELECT, INSERT ON keepftpd_bans TO {ROLE}")
        self.psql(f"GRANT USAGE ON SEQUENCE keepftpd_bans_id_seq TO {ROLE}")

    def _bin(self, name):
        return os.path.join(self.bindir, name)

    def _run(self, argv, timeout=60, input=None):
        r = subprocess.run(argv, preexec_fn=_as_pg, cwd=self.base, capture_output=True,
                           text=True, timeout=timeout, input=input)
        if r.returncode != 0:
            raise RuntimeError(f"{argv[0]} failed ({r.returncode}): {r.stderr}{r.stdout}")
        return r.stdout

    # -- life ---------------------------------------------------------------

    def start(self, timeout=30):
        opts = (f"-p {self.port} -k {self.sock} -c listen_addresses=127.0.0.1 "
                "-c fsync=off -c synchronous_commit=off -c full_page_writes=off "
                "-c max_connections=60 -c shared_buffers=16MB")
        self._run([self._bin("pg_ctl"), "-D", str(self.data), "-l", str(self.logfile),
                   "-o", opts, "-w", "-t", str(timeout), "start"], timeout=timeout + 10)
        self.pid = int((self.data / "postmaster.pid").read_text().split("\n")[0])
        return self

    def stop(self, timeout=30):
        """Fast shutdown by PID (SIGINT), then SIGKILL; waits for the end."""
        if self.pid is None:
            return
        pid, self.pid = self.pid, None
        try:
            os.kill(pid, signal.SIGINT)
        except ProcessLookupError:
            return
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        # the socket lock file goes with the postmaster
        for _ in range(100):
            if not (self.data / "postmaster.pid").exists():
                break
            time.sleep(0.05)

    def restart(self):
        self.stop()
        return self.start()

    def running(self):
        return self.pid is not None

    def close(self):
        self.stop()
        shutil.rmtree(self.base, ignore_errors=True)

    # -- clients ------------------------------------------------------------

    def conninfo(self, host="127.0.0.1"):
        """The server role over TCP (a Unix socket with host=self.sock)."""
        pw = self.role_password.replace("\\", "\\\\").replace("'", "\\'")
        return (f"host={host} port={self.port} dbname={DB} user={ROLE} "
                f"password='{pw}'")

    def admin_conninfo(self):
        return f"host={self.sock} port={self.port} dbname={DB} user=postgres"

    def psql(self, sql, db=DB, params=None):
        """Runs sql as the superuser; :'name' in it quotes params[name]."""
        argv = [self._bin("psql"), "-h", str(self.sock), "-p", str(self.port),
                "-U", "postgres", "-d", db, "-X", "-At", "-v", "ON_ERROR_STOP=1"]
        for k, v in (params or {}).items():
            argv += ["-v", f"{k}={v}"]
        return self._run(argv, input=sql + ";\n")

    def add_user(self, name, hash_, uid, gid, home, flags=""):
        self.psql("INSERT INTO keepftpd_users VALUES "
                  "(:'n', :'h', :'u', :'g', :'d', :'f')",
                  params={"n": name, "h": hash_, "u": str(uid), "g": str(gid),
                          "d": str(home), "f": flags})

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
