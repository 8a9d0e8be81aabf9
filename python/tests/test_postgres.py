"""The PostgreSQL backend from Python: tabledata.read() of a postgresql://
URI and of a postgres('conninfo', 'table') source, static and live, against
a throwaway server (initdb into a temporary directory, a unix socket there;
as the postgres user when run as root).  Skipped without the server binaries
or a library built without PostgreSQL."""
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time

import pytest

import tabledata

BINDIR = next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)), None)


def _env():
    """The environment for the server's programs: without the sanitizer
    runtime the ASan run preloads into the interpreter (postgres hangs with
    it), and without sanitizer options."""
    return {k: v for k, v in os.environ.items() if k != "LD_PRELOAD" and not k.endswith("SAN_OPTIONS")}


def _run(cmd, check=True):
    return subprocess.run(cmd, check=check, env=_env(), timeout=120)


def _as_server_user(cmd):
    if os.geteuid() == 0:
        return ["su", "-s", "/bin/sh", "postgres", "-c", " ".join(cmd)]
    return cmd


@pytest.fixture(scope="module")
def server():
    if not BINDIR or not shutil.which("psql"):
        pytest.skip("the PostgreSQL server binaries are not installed")
    d = tempfile.mkdtemp(prefix="tdpgpy")
    if os.geteuid() == 0:
        pw = pwd.getpwnam("postgres")
        os.chown(d, pw.pw_uid, pw.pw_gid)
    os.chmod(d, 0o755)
    _run(_as_server_user([f"{BINDIR}/initdb", "-D", f"{d}/data", "-A", "trust", "-U", "postgres",
                                    "--no-sync", ">/dev/null"]))
    _run(_as_server_user([f"{BINDIR}/pg_ctl", "-D", f"{d}/data", "-l", f"{d}/log", "-w", "-o",
                          f"\"-k {d} -c listen_addresses=''\"", "start", ">/dev/null"]))
    conninfo = f"host={d} user=postgres dbname=postgres"
    try:
        yield d, conninfo
    finally:
        _run(_as_server_user([f"{BINDIR}/pg_ctl", "-D", f"{d}/data", "-m", "fast", "-w", "stop",
                              ">/dev/null"]), check=False)
        shutil.rmtree(d, ignore_errors=True)


def psql(conninfo, sql):
    _run(["psql", "-X", "-q", conninfo, "-c", sql])


def test_read_static_and_sql(server):
    d, conninfo = server
    psql(conninfo, "CREATE TABLE t(id int8 PRIMARY KEY, sym text, px float8, d date);"
                   "INSERT INTO t SELECT i, 's' || (i % 3), i * 0.5, '2024-01-01'::date + i FROM generate_series(1, 100) i;"
                   "INSERT INTO t VALUES (101, NULL, NULL, NULL)")
    t = tabledata.read(f"postgresql:///postgres/t?host={d}&user=postgres")
    assert t.size == 101
    data = t.to_arrow()
    assert data.column("id").to_pylist() == list(range(1, 102))
    assert data.column("sym").to_pylist()[-1] is None
    assert data.column("px").to_pylist()[1] == 1.0
    r = tabledata.sql("SELECT sym, count(*) AS n FROM t WHERE sym IS NOT NULL GROUP BY sym ORDER BY sym", t=t)
    assert r.to_arrow().column("n").to_pylist() == [33, 34, 33]
    t2 = tabledata.read(f"postgres('{conninfo}', 't', locations => 'sym')")
    assert t2.size == 101
    with pytest.raises(Exception, match="table 'nope' does not exist"):
        tabledata.read(f"postgres('{conninfo}', 'nope')")


def test_read_live(server):
    d, conninfo = server
    psql(conninfo, "CREATE TABLE live(id bigserial PRIMARY KEY, xid xid8 NOT NULL DEFAULT pg_current_xact_id(), v int8);"
                   "INSERT INTO live(v) VALUES (1), (2)")
    t = tabledata.read(f"postgresql:///postgres/live?host={d}&user=postgres&poll_ms=20", refreshing=True,
                       update_period=0.05)
    assert t.size == 2
    psql(conninfo, "INSERT INTO live(v) SELECT g FROM generate_series(3, 10) g")
    deadline = time.time() + 10
    while t.size < 10 and time.time() < deadline:
        time.sleep(0.05)
    assert t.to_arrow().column("v").to_pylist() == list(range(1, 11))
