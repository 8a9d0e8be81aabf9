"""`tabledata serve` under load: 50 WebSocket clients follow live queries
while a writer adds partitions to the served tree, and each client's final
state equals the source (a static query of the same server); clients that
stop reading do not grow the server's memory (their deltas coalesce, then
they are dropped) and do not hold up the others.

usage: test_serve_load.py TABLEDATA [SECONDS]"""
import asyncio
import hashlib
import json
import os
import socket
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.ipc as ipc

sys.path.insert(0, os.path.dirname(__file__))
from serve_util import Server, apply, parse_message, request, write_partition, ws_url  # noqa: E402

EXE = sys.argv[1]
SECONDS = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
CLIENTS = 50
failures = []
checks = 0


def check(name, cond, detail=""):
    global checks
    checks += 1
    print(("ok: " if cond else "FAIL ") + name + ("" if cond else " " + str(detail)))
    if not cond:
        failures.append(name)


def digest(rows):
    return hashlib.sha256("\n".join(sorted(json.dumps(r, sort_keys=True) for r in rows)).encode()).hexdigest()


def test_fifty_clients(tmp):
    import websockets
    root = tmp + "/tree"
    os.makedirs(root)
    per = 40

    def part(i):
        return pa.table({"Sym": pa.array(["S%d" % ((i + k) % 7) for k in range(per)]),
                         "v": pa.array([i * 1000 + k for k in range(per)], pa.int64())})
    write_partition(root, "P=0", part(0))
    srv = Server(EXE, "--source", "live=" + root, "--period", "50", "--max-clients", "64")
    queries = ["SELECT * FROM live", "SELECT Sym, count(*) AS n, sum(v) AS s FROM live GROUP BY Sym"]
    n_parts = [1]
    msgs = [0] * CLIENTS
    try:
        async def client(i, done):
            state = []
            async with websockets.connect(ws_url(srv, queries[i % 2]), max_size=None, proxy=None,
                                          open_timeout=30) as ws:
                while True:
                    try:
                        data = await asyncio.wait_for(ws.recv(), 0.5)
                    except asyncio.TimeoutError:
                        if done.is_set():
                            return state
                        continue
                    h, t = parse_message(data)
                    apply(state, h, t)
                    msgs[i] += 1

        async def writer(done):
            t0 = time.monotonic()
            while time.monotonic() - t0 < SECONDS:
                write_partition(root, "P=%d" % n_parts[0], part(n_parts[0]))
                n_parts[0] += 1
                await asyncio.sleep(0.1)
            # The last partition shows in a cycle or two; clients drain, then stop.
            await asyncio.sleep(2.0)
            done.set()

        async def run():
            done = asyncio.Event()
            tasks = [asyncio.create_task(client(i, done)) for i in range(CLIENTS)]
            await asyncio.sleep(0.5)
            await writer(done)
            return await asyncio.gather(*tasks, return_exceptions=True)

        t0 = time.monotonic()
        states = asyncio.run(run())
        elapsed = time.monotonic() - t0
        want = [ipc.open_stream(pa.py_buffer(request(srv.url + "/api/query", q)[2])).read_all() for q in queries]
        from serve_util import _rows
        want_digest = [digest(_rows(w)) for w in want]
        errors = [s for s in states if isinstance(s, BaseException)]
        check("50 clients: none failed", not errors, errors[:3])
        equal = sum(1 for i, s in enumerate(states) if not isinstance(s, BaseException) and
                    digest(s) == want_digest[i % 2])
        total = per * n_parts[0]
        check("50 clients: every final state equals the source (%d rows, %d partitions)" % (total, n_parts[0]),
              equal == CLIENTS and want[0].num_rows == total, "%d of %d equal" % (equal, CLIENTS))
        print("load: %d clients, %.1f s, %d messages (%.0f deltas/s over all clients)" %
              (CLIENTS, elapsed, sum(msgs), sum(msgs) / elapsed))
        check("50 clients: each got deltas", min(msgs) >= 5, min(msgs))
    finally:
        srv.stop()


def stuck_client(url_path, port):
    """Opens a WebSocket and never reads (a small receive buffer)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", port))
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n" % url_path).encode())
    return s


def stuck_run(n_stuck):
    """Runs the demo with a sorted live query (every cycle replaces the
    result, so each delta is the whole table), one reading client and
    n_stuck clients that never read; returns (cycles read, RSS growth MB,
    snapshot MB)."""
    import websockets
    from urllib.parse import quote
    sql = "SELECT * FROM demo ORDER BY Long"
    srv = Server(EXE, "--source", "demo", "--rate", "2000", "--period", "50", "--queue-bytes", "1000000")
    try:
        port = int(srv.url.rsplit(":", 1)[1])
        stuck = [stuck_client("/api/live?sql=" + quote(sql), port) for _ in range(n_stuck)]
        rss0 = [0]

        async def reader():
            got = 0
            async with websockets.connect(ws_url(srv, sql), max_size=None, proxy=None) as ws:
                t0 = time.monotonic()
                while time.monotonic() - t0 < SECONDS:
                    parse_message(await asyncio.wait_for(ws.recv(), 10))
                    got += 1
                    if got == 3:
                        rss0[0] = srv.rss_kb()
            return got

        got = asyncio.run(reader())
        rss1 = srv.rss_kb()
        rows = json.loads(request(srv.url + "/api/tables")[2])["tables"][0]["rows"]
        for s in stuck:
            s.close()
        snapshot_mb = rows * 60 / 1e6  # about 60 bytes a row in IPC
        print("%d stuck clients: %d rows (a snapshot about %.1f MB), %d cycles read by the live client, "
              "server RSS %d -> %d KiB" % (n_stuck, rows, snapshot_mb, got, rss0[0], rss1))
    finally:
        check("server exits 0 (%d stuck clients)" % n_stuck, srv.stop() == 0)
    return got, (rss1 - rss0[0]) / 1024, snapshot_mb


def test_stuck_clients(tmp):
    got0, grown0, _ = stuck_run(0)
    got, grown, snap = stuck_run(8)
    if os.environ.get("TD_SERVE_SANITIZED"):
        # A sanitizer's quarantine and slowness make memory and rates meaningless.
        check("a reading client gets updates beside 8 stuck ones (sanitized build)", got >= 3, got)
        return
    check("a reading client keeps getting updates beside 8 stuck ones", got >= SECONDS * 5 and got >= got0 / 3,
          (got, got0))
    # Bounded: each stuck client holds at most its queue (1 MB), the message
    # being written and a snapshot.  Unbounded it would hold every cycle's
    # snapshot: about 8 * cycles * snapshot / 2.
    unbounded = 8 * got * snap / 2
    check("stuck clients do not grow the server's memory (grew %.0f MB, %.0f MB without them; unbounded ~%.0f MB)"
          % (grown, grown0, unbounded), grown < grown0 + 8 * (1 + 2 * snap) + 32 and unbounded > 3 * (grown - grown0),
          (grown, grown0))


def test_slow_reader_coalesced(tmp):
    """A client that reads slowly, with a tiny queue: its deltas coalesce
    into fresh snapshots, and its final state still equals the source."""
    import websockets
    root = tmp + "/slow"
    os.makedirs(root)

    def part(i):
        return pa.table({"k": pa.array([i * 100 + j for j in range(100)], pa.int64()),
                         "s": pa.array(["x" * 50] * 100)})
    write_partition(root, "P=0", part(0))
    srv = Server(EXE, "--source", "slow=" + root, "--period", "20", "--queue-bytes", "3000")
    try:
        types = []

        async def run():
            state = []
            async with websockets.connect(ws_url(srv, "SELECT * FROM slow"), max_size=None, proxy=None) as ws:
                for i in range(1, 31):
                    write_partition(root, "P=%d" % i, part(i))
                    await asyncio.sleep(0.03)
                deadline = time.monotonic() + 30
                while len(state) != 3100 and time.monotonic() < deadline:
                    h, t = parse_message(await asyncio.wait_for(ws.recv(), 10))
                    apply(state, h, t)
                    types.append(h["type"])
                    await asyncio.sleep(0.1)  # a slow reader
            return state

        state = asyncio.run(run())
        from serve_util import _rows
        want = _rows(ipc.open_stream(pa.py_buffer(request(srv.url + "/api/query", "SELECT * FROM slow")[2])).read_all())
        check("slow reader: final state equals the source", digest(state) == digest(want) and len(want) == 3100,
              (len(state), len(want)))
        check("slow reader: its deltas were coalesced into snapshots", types.count("snapshot") >= 2, types)
    finally:
        srv.stop()


with tempfile.TemporaryDirectory() as tmp:
    for t in (test_slow_reader_coalesced, test_fifty_clients, test_stuck_clients):
        t0 = time.monotonic()
        try:
            t(tmp)
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            failures.append("%s raised %r" % (t.__name__, e))
        print("%s: %.1f s" % (t.__name__, time.monotonic() - t0))
print("serve load: %d checks, %d failed" % (checks, len(failures)))
sys.exit(1 if failures else 0)
