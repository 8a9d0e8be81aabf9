"""`tabledata serve`: the HTTP API (tables, queries in Arrow and JSON read
back by pyarrow, errors, limits, the token, binding rules) and a WebSocket
live query followed while a writer adds partitions to a file tree.

usage: test_serve_api.py TABLEDATA"""
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time

import pyarrow as pa
import pyarrow.ipc as ipc

sys.path.insert(0, os.path.dirname(__file__))
from serve_util import Server, follow, request, sorted_rows, write_partition, ws_url  # noqa: E402

EXE = sys.argv[1]
failures = []
checks = 0


def check(name, cond, detail=""):
    global checks
    checks += 1
    if not cond:
        failures.append(name)
        print("FAIL %s %s" % (name, detail))


def arrow_of(body):
    return ipc.open_stream(pa.py_buffer(body)).read_all()


def local_arrow(sql):
    out = subprocess.run([EXE, "query", "--format", "arrow", sql], capture_output=True, check=True).stdout
    return arrow_of(out)


def test_api(tmp):
    subprocess.run([EXE, "gen-sample", tmp + "/s", "--rows", "20000", "--format", "arrow"], check=True,
                   capture_output=True)
    path = tmp + "/s/arrow"
    srv = Server(EXE, "--source", "demo", "--source", "ticks=" + path, "--max-rows", "5000")
    try:
        u = srv.url
        st, h, body = request(u + "/api/tables")
        doc = json.loads(body)
        names = [t["name"] for t in doc["tables"]]
        check("tables: names", st == 200 and names == ["demo", "ticks"], names)
        ticks = doc["tables"][1]
        cols = {c["name"]: c for c in ticks["columns"]}
        check("tables: ticks size", ticks["rows"] == 20000 and ticks["locations"] == 15, ticks)
        check("tables: ticks schema", cols["Symbol"]["type"] == "utf8" and cols["Price"]["type"] == "float64"
              and cols["Date"]["partition"] and not cols["Price"]["partition"], cols)
        check("tables: demo schema", [c["name"] for c in doc["tables"][0]["columns"]][:3] ==
              ["Ticker", "Exchange", "Boolean"])

        # Queries: Arrow equals the local `tabledata query --format arrow` of the same SQL over the path.
        q = "SELECT Symbol, count(*) AS n, sum(Size) AS s, max(Price) AS p FROM %s GROUP BY Symbol ORDER BY Symbol"
        st, h, body = request(u + "/api/query", q % "ticks")
        check("query arrow: status and type", st == 200 and h.get("Content-Type") ==
              "application/vnd.apache.arrow.stream", (st, h))
        got = arrow_of(body)
        want = local_arrow(q % ("'" + path + "'"))
        check("query arrow: equals local query", got.equals(want), (got.num_rows, want.num_rows))
        check("query arrow: rows", got.num_rows == 11 and sum(got.column("n").to_pylist()) == 20000)
        st, h, body = request(u + "/api/query?format=json", q % "ticks")
        check("query json: ?format=json", st == 200 and h.get("Content-Type") == "application/json")
        j = json.loads(body)
        check("query json: rows equal arrow", j["rows"] == want.to_pylist(), j["rows"][:2])
        check("query json: columns", [c["name"] for c in j["columns"]] == ["Symbol", "n", "s", "p"])
        st, h, body = request(u + "/api/query", q % "ticks", {"Accept": "application/json"})
        check("query json: Accept header", st == 200 and json.loads(body)["rows"] == want.to_pylist())
        st, h, body = request(u + "/api/query", json.dumps({"sql": q % "ticks"}),
                              {"Content-Type": "application/json"})
        check("query json body", st == 200 and arrow_of(body).equals(want))
        # A plain select streams; partition filter; the demo source.
        st, h, body = request(u + "/api/query", "SELECT * FROM ticks WHERE Exchange = 'NYSE' LIMIT 1000")
        t = arrow_of(body)
        check("query plain select", st == 200 and t.num_rows == 1000 and set(t.column("Exchange").to_pylist()) ==
              {"NYSE"} and t.schema.names[:3] == ["Date", "Exchange", "Timestamp"])
        st, h, body = request(u + "/api/query", "SELECT Ticker, count(*) AS n FROM demo GROUP BY Ticker")
        check("query demo", st == 200 and arrow_of(body).num_rows >= 2)
        st, h, body = request(u + "/api/query", "SELECT * FROM ticks WHERE Price < 0")
        check("query empty result", st == 200 and arrow_of(body).num_rows == 0)

        # Errors: each a 4xx with a JSON message.
        def err(name, status, sql=None, path="/api/query", headers=None, method=None, contains=""):
            st, h, body = request(u + path, sql, headers, method)
            try:
                msg = json.loads(body)["error"]
            except Exception:  # noqa: BLE001
                msg = None
            check("error: " + name, st == status and msg is not None and contains in msg, (st, body[:200]))
            return msg

        err("bad SQL is 400", 400, "SELEC Symbol FROM ticks", contains="expected SELECT")
        err("bad column is 400", 400, "SELECT nope FROM ticks")
        err("unknown source is 404", 404, "SELECT * FROM nope", contains="unknown source 'nope'")
        err("a quoted path is 404", 404, "SELECT * FROM '" + path + "'", contains="not reachable")
        err("a path to /etc is 404", 404, "SELECT * FROM '/etc/passwd'", contains="not reachable")
        copy_target = os.path.join(tempfile.mkdtemp(), "x.parquet")
        err("COPY is refused", 400, "COPY ticks TO '%s'" % copy_target, contains="read-only")
        err("COPY (SELECT) is refused", 400, "COPY (SELECT * FROM ticks) TO '%s' (FORMAT parquet)" % copy_target,
            contains="COPY is not supported here")
        check("refused COPY wrote nothing", not os.path.exists(copy_target))
        err("INSERT is refused", 400, "INSERT INTO ticks VALUES (1)")
        err("DROP is refused", 400, "DROP TABLE ticks")
        err("two statements are refused", 400, "SELECT * FROM ticks; SELECT * FROM demo")
        err("row limit is 413", 413, "SELECT * FROM ticks", contains="--max-rows")
        err("empty body", 400, "")
        err("bad format", 400, "SELECT * FROM ticks", path="/api/query?format=xml")
        err("unknown parameter", 400, "SELECT * FROM ticks", path="/api/query?x=1")
        err("sql in the query string of POST", 400, "", path="/api/query?sql=SELECT")
        err("bad percent-encoding", 400, None, path="/api/live?sql=%zz")
        err("GET /api/query is 405", 405, None)
        err("POST /api/tables is 405", 405, "x", path="/api/tables")
        err("unknown path is 404", 404, None, path="/etc/passwd")
        err("traversal is 404", 404, None, path="/../../etc/passwd")
        err("bad JSON body", 400, "{\"sql\": ", headers={"Content-Type": "application/json"})
        err("JSON body without sql", 400, "{\"q\": 1}", headers={"Content-Type": "application/json"})
        err("unsupported content type", 415, "x", headers={"Content-Type": "image/png"})
        err("body too large", 413, "SELECT " + "x," * 40000 + "x FROM ticks")
        err("live without upgrade", 400, None, path="/api/live?source=demo")
        # Raw malformed requests: the server answers 4xx or closes, and keeps serving.
        import socket
        host, port = u.replace("http://", "").split(":")
        for raw in [b"GARBAGE\r\n\r\n", b"GET / HTTP/9.9\r\n\r\n", b"POST /api/query HTTP/1.1\r\nContent-Length: -5\r\n\r\n",
                    b"GET /" + b"a" * 20000 + b" HTTP/1.1\r\n\r\n", b"\x00\xff\x01\r\n\r\n"]:
            s = socket.create_connection((host, int(port)), timeout=10)
            s.sendall(raw)
            try:
                ans = s.recv(200)
            except (ConnectionResetError, socket.timeout):
                ans = b""
            s.close()
            check("raw malformed %r" % raw[:16], ans == b"" or ans.split(b" ")[1] in (b"400", b"411", b"413", b"414", b"431", b"505"), ans[:80])
        st, _, _ = request(u + "/api/tables")
        check("still serving after malformed requests", st == 200 and srv.proc.poll() is None)
        st, h, body = request(u + "/")
        check("page served", st == 200 and h["Content-Type"].startswith("text/html") and b"tabledata" in body)
    finally:
        check("server exits 0 on SIGTERM", srv.stop() == 0)
    # The time limit: 20,000 rows from 15 files take more than a millisecond.
    srv = Server(EXE, "--source", "ticks=" + path, "--max-time", "1")
    try:
        st, h, body = request(srv.url + "/api/query", "SELECT * FROM ticks WHERE Price > 0")
        check("time limit is 504", st == 504 and "--max-time" in json.loads(body)["error"], (st, body[:100]))
    finally:
        srv.stop()


def test_limits_and_token(tmp):
    srv = Server(EXE, "--source", "demo", "--token", "s3cret", "--max-time", "1")
    try:
        u = srv.url
        sql = "SELECT Ticker, count(*) AS n FROM demo GROUP BY Ticker"
        check("token: none is 401", request(u + "/api/tables")[0] == 401)
        check("token: wrong is 401", request(u + "/api/tables", headers={"Authorization": "Bearer s3creX"})[0] == 401)
        check("token: prefix is 401", request(u + "/api/tables", headers={"Authorization": "Bearer s3cre"})[0] == 401)
        check("token: longer is 401", request(u + "/api/tables?token=s3cret2")[0] == 401)
        check("token: not bearer is 401", request(u + "/api/tables", headers={"Authorization": "Basic czNjcmV0"})[0] == 401)
        check("token: unknown path without token is 401, not 404", request(u + "/nope")[0] == 401)
        check("token: page needs it", request(u + "/")[0] == 401 and request(u + "/?token=s3cret")[0] == 200)
        st, _, _ = request(u + "/api/tables", headers={"Authorization": "Bearer s3cret"})
        check("token: header", st == 200)
        check("token: query parameter", request(u + "/api/query?token=s3cret", sql)[0] in (200, 504))

        import websockets

        async def ws_status(url):
            try:
                async with websockets.connect(url, proxy=None, open_timeout=10) as ws:
                    await ws.recv()
                    return 101
            except websockets.exceptions.InvalidStatus as e:
                return e.response.status_code

        check("token: socket without token is 401", asyncio.run(ws_status(ws_url(srv, sql))) == 401)
        check("token: socket with wrong token is 401", asyncio.run(ws_status(ws_url(srv, sql, "nope"))) == 401)
        check("token: socket with token", asyncio.run(ws_status(ws_url(srv, sql, "s3cret"))) == 101)
        check("socket: unknown source is 404", asyncio.run(ws_status(ws_url(srv, "SELECT * FROM x", "s3cret"))) == 404)
        check("socket: bad SQL is 400", asyncio.run(ws_status(ws_url(srv, "SELECT FROM", "s3cret"))) == 400)
        check("socket: COPY is 400", asyncio.run(ws_status(ws_url(srv, "COPY ticks TO '/tmp/td_serve_copy.csv'",
                                                                   "s3cret"))) == 400 and not os.path.exists("/tmp/td_serve_copy.csv"))
    finally:
        srv.stop()
    # Binding beyond localhost needs --token or --insecure.
    r = subprocess.run([EXE, "serve", "--host", "0.0.0.0", "--port", "0", "--source", "demo", "--duration", "0.1"],
                       capture_output=True, text=True)
    check("bind 0.0.0.0 without token refused", r.returncode == 2 and "--token" in r.stderr, r.stderr)
    r = subprocess.run([EXE, "serve", "--host", "0.0.0.0", "--port", "0", "--source", "demo", "--insecure",
                        "--duration", "0.2"], capture_output=True, text=True)
    check("bind 0.0.0.0 with --insecure", r.returncode == 0 and "listening on" in r.stdout, r.stderr)
    r = subprocess.run([EXE, "serve", "--source", "x"], capture_output=True, text=True)
    check("source without path refused", r.returncode == 2)
    r = subprocess.run([EXE, "serve", "--source", "a/b=/tmp"], capture_output=True, text=True)
    check("bad source name refused", r.returncode == 2)


def test_clients_limit(tmp):
    srv = Server(EXE, "--source", "demo", "--max-clients", "2")
    try:
        import websockets

        async def run():
            url = ws_url(srv, "SELECT * FROM demo")
            a = await websockets.connect(url, proxy=None, max_size=None)
            b = await websockets.connect(url, proxy=None, max_size=None)
            try:
                await websockets.connect(url, proxy=None)
                third = 101
            except websockets.exceptions.InvalidStatus as e:
                third = e.response.status_code
            await a.close()
            await b.close()
            await asyncio.sleep(0.5)
            c = await websockets.connect(url, proxy=None, max_size=None)
            await c.recv()
            await c.close()
            return third

        check("clients: the third of --max-clients 2 is 503", asyncio.run(run()) == 503)
    finally:
        srv.stop()


def test_live(tmp):
    root = tmp + "/live/tree"
    os.makedirs(root)
    def part(i, n=50):
        return pa.table({"Sym": pa.array(["S%d" % ((i * 7 + k) % 5) for k in range(n)]),
                         "v": pa.array([i * 1000 + k for k in range(n)], pa.int64())})
    write_partition(root, "Day=0", part(0))
    srv = Server(EXE, "--source", "live=" + root, "--period", "50")
    try:
        plain = "SELECT * FROM live"
        agg = "SELECT Sym, count(*) AS n, sum(v) AS s FROM live GROUP BY Sym"
        total = 50 * 11

        async def run():
            async def writer():
                for i in range(1, 11):
                    await asyncio.sleep(0.15)
                    write_partition(root, "Day=%d" % i, part(i))
            w = asyncio.create_task(writer())
            (ps, pm), (as_, am) = await asyncio.gather(
                follow(ws_url(srv, plain), lambda s, h: len(s) == total),
                follow(ws_url(srv, agg), lambda s, h: sum(r["n"] for r in s) == total))
            await w
            return ps, pm, as_, am

        ps, pm, as_, am = asyncio.run(run())
        want = arrow_of(request(srv.url + "/api/query", plain)[2]).to_pylist()
        check("live plain select: final state equals the source", sorted_rows(ps) == sorted_rows(want) and
              len(want) == total, (len(ps), len(want)))
        check("live plain select: several deltas", pm >= 3, pm)
        wanta = arrow_of(request(srv.url + "/api/query", agg)[2]).to_pylist()
        check("live aggregation: final state equals the query", sorted_rows(as_) == sorted_rows(wanta), (as_, wanta))
        check("live aggregation: several deltas", am >= 3, am)
    finally:
        srv.stop()


with tempfile.TemporaryDirectory() as tmp:
    for t in (test_api, test_limits_and_token, test_clients_limit, test_live):
        t0 = time.monotonic()
        try:
            t(tmp)
        except Exception as e:  # noqa: BLE001
            import traceback
            traceback.print_exc()
            failures.append("%s raised %r" % (t.__name__, e))
        print("%s: %.1f s" % (t.__name__, time.monotonic() - t0))
print("serve api: %d checks, %d failed%s" % (checks, len(failures), (": " + ", ".join(failures)) if failures else ""))
sys.exit(1 if failures else 0)
