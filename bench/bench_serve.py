"""Benchmarks of `tabledata serve` (bench/run.sh):
  - latency from an append to a served file (a growing Arrow IPC stream,
    immediate mode) to the delta arriving at a WebSocket client, p50/p99;
  - POST /api/query snapshot throughput (Arrow IPC, MB/s) against
    `tabledata query --format arrow` writing the same result locally;
  - 50 WebSocket clients on the live demo: deltas per second delivered.

usage: bench_serve.py TABLEDATA [APPENDS] [ROWS]
TD_BENCH_SERVE_ONLY=latency|snapshot|clients runs one of them."""
import asyncio
import os
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.ipc as ipc

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "serve"))
from serve_util import Server, apply, parse_message, request, ws_url  # noqa: E402

EXE = sys.argv[1]
APPENDS = int(sys.argv[2]) if len(sys.argv) > 2 else 10000
ROWS = int(sys.argv[3]) if len(sys.argv) > 3 else 1000000


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(p / 100 * len(xs)))]


def bench_latency(tmp):
    import websockets
    root = tmp + "/live/P=1"
    os.makedirs(root)
    schema = pa.schema([("i", pa.int64()), ("v", pa.float64())])
    f = open(root + "/data.arrows", "wb")
    w = ipc.new_stream(f, schema)
    w.write_batch(pa.record_batch([pa.array([0], pa.int64()), pa.array([0.0])], schema=schema))
    f.flush()
    srv = Server(EXE, "--source", "live=" + tmp + "/live", "--period", "0", "--max-rows", "100000000")
    lat = []
    try:
        async def run():
            async with websockets.connect(ws_url(srv, "SELECT * FROM live"), max_size=None, proxy=None) as ws:
                state = []
                h, t = parse_message(await ws.recv())
                apply(state, h, t)
                for k in range(1, APPENDS + 1):
                    t0 = time.perf_counter()
                    w.write_batch(pa.record_batch([pa.array([k], pa.int64()), pa.array([k * 0.5])], schema=schema))
                    f.flush()
                    while len(state) < k + 1:
                        h, t = parse_message(await asyncio.wait_for(ws.recv(), 10))
                        apply(state, h, t)
                    lat.append((time.perf_counter() - t0) * 1e3)
        asyncio.run(run())
    finally:
        srv.stop()
        f.close()
    print("serve: append -> WebSocket delta latency over %d appends (file append, inotify, immediate mode): "
          "p50 %.3f ms, p99 %.3f ms, max %.3f ms (load average %.1f)"
          % (len(lat), pct(lat, 50), pct(lat, 99), max(lat), os.getloadavg()[0]))


def bench_snapshot(tmp):
    subprocess.run([EXE, "gen-sample", tmp + "/s", "--rows", str(ROWS), "--format", "arrow"], check=True,
                   capture_output=True)
    path = tmp + "/s/arrow"
    sql = "SELECT * FROM %s"
    best_local, size_local = 1e9, 0
    for _ in range(3):
        t0 = time.perf_counter()
        out = subprocess.run([EXE, "query", "--format", "arrow", sql % ("'" + path + "'")], capture_output=True,
                             check=True).stdout
        best_local = min(best_local, time.perf_counter() - t0)
        size_local = len(out)
    srv = Server(EXE, "--source", "ticks=" + path, "--max-rows", "100000000", "--max-time", "600000")
    best_http, size_http = 1e9, 0
    try:
        for _ in range(3):
            t0 = time.perf_counter()
            st, h, body = request(srv.url + "/api/query", sql % "ticks")
            best_http = min(best_http, time.perf_counter() - t0)
            size_http = len(body)
            assert st == 200
        rows = ipc.open_stream(pa.py_buffer(body)).read_all().num_rows
    finally:
        srv.stop()
    mb = size_http / 1e6
    print("serve: POST /api/query snapshot of %d rows, %.1f MB Arrow IPC: %.0f MB/s over HTTP; "
          "tabledata query --format arrow (process start included): %.0f MB/s; ratio http/local %.2f"
          % (rows, mb, mb / best_http, size_local / 1e6 / best_local, best_local / best_http))


def bench_clients(tmp):
    import websockets
    srv = Server(EXE, "--source", "demo", "--rate", "2000", "--period", "50", "--max-clients", "64")
    n, seconds = 50, 5.0
    counts = [0] * n
    try:
        async def client(i):
            async with websockets.connect(ws_url(srv, "SELECT Ticker, Exchange, count(*) AS n, sum(Long) AS s FROM demo "
                                                      "GROUP BY Ticker, Exchange"), max_size=None, proxy=None) as ws:
                state = []
                t0 = time.monotonic()
                while time.monotonic() - t0 < seconds:
                    h, t = parse_message(await ws.recv())
                    apply(state, h, t)
                    counts[i] += 1

        async def run():
            await asyncio.gather(*[client(i) for i in range(n)])
        t0 = time.monotonic()
        asyncio.run(run())
        el = time.monotonic() - t0
    finally:
        srv.stop()
    print("serve: %d WebSocket clients on one live aggregation (50 ms cycles, demo writer at 2000 rows/s): "
          "%.0f deltas/s delivered in all, %.1f per client per second" % (n, sum(counts) / el, sum(counts) / el / n))


with tempfile.TemporaryDirectory() as tmp:
    only = os.environ.get("TD_BENCH_SERVE_ONLY")
    for name, bench in (("latency", bench_latency), ("snapshot", bench_snapshot), ("clients", bench_clients)):
        if not only or only == name:
            bench(tmp)
