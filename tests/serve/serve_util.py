"""Helpers for the `tabledata serve` tests: start a server on a free port,
HTTP requests without proxies, and a WebSocket live-query client that keeps
the result up to date from the snapshot and deltas."""
import asyncio
import json
import os
import struct
import subprocess
import time
import urllib.error
import urllib.request

import pyarrow as pa
import pyarrow.ipc as ipc


class Server:
    def __init__(self, exe, *args):
        # stderr is inherited (the test's output shows what the server says).
        # --duration: a server never outlives a test that was killed.
        self.proc = subprocess.Popen([exe, "serve", "--port", "0", "--duration", "900", *args],
                                     stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()
        if "listening on" not in line:
            raise RuntimeError("server did not start: %r" % line)
        self.url = line.split("listening on ")[1].split()[0].rstrip("/")
        self.ws = self.url.replace("http://", "ws://")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        return self.proc.returncode

    def rss_kb(self):
        with open("/proc/%d/status" % self.proc.pid) as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def request(url, data=None, headers=None, method=None):
    """Returns (status, headers, body bytes) whatever the status."""
    req = urllib.request.Request(url, data=data.encode() if isinstance(data, str) else data,
                                 headers=headers or {}, method=method)
    try:
        with _opener.open(req, timeout=60) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def parse_message(data):
    """A live message: (header dict, pyarrow Table or None)."""
    n = struct.unpack("<I", data[:4])[0]
    header = json.loads(data[4:4 + n])
    body = data[4 + n:]
    table = ipc.open_stream(pa.py_buffer(body)).read_all() if body else None
    return header, table


def _rows(table):
    """Rows as dicts; timestamps as integers (nanoseconds do not fit datetime)."""
    cols = []
    for f, col in zip(table.schema, table.columns):
        if pa.types.is_timestamp(f.type):
            col = col.cast(pa.int64())
        cols.append(col)
    return pa.table(cols, names=table.schema.names).to_pylist()


def apply(state, header, table):
    """Applies a snapshot or delta to `state` (a list of row dicts)."""
    if header["type"] == "error":
        raise RuntimeError(header["error"])
    rows = _rows(table) if table is not None else []
    if header["type"] == "snapshot":
        state[:] = rows
    else:
        i = 0
        for p in header["changed"]:
            state[p] = rows[i]
            i += 1
        for at, n in header["inserted"]:
            state[at:at] = rows[i:i + n]
            i += n
        assert i == len(rows), (i, len(rows))
    assert len(state) == header["size"], (len(state), header["size"])


def ws_url(server, sql, token=None):
    from urllib.parse import quote
    u = server.ws + "/api/live?sql=" + quote(sql)
    return u + ("&token=" + quote(token) if token else "")


async def follow(url, until, timeout=60.0, state=None):
    """Follows a live query until until(state, header) is true; returns the
    state and the number of messages."""
    import websockets
    state = [] if state is None else state
    msgs = 0
    async with websockets.connect(url, max_size=None, proxy=None) as ws:
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("live query: %d rows after %d messages" % (len(state), msgs))
            data = await asyncio.wait_for(ws.recv(), left)
            header, table = parse_message(data)
            apply(state, header, table)
            msgs += 1
            if until(state, header):
                return state, msgs


def write_partition(root, name, table):
    """Adds a partition directory holding data.arrows to a live tree
    atomically (written aside, then renamed in)."""
    tmp = os.path.join(os.path.dirname(root), ".tmp-" + name.replace("=", "_"))
    os.makedirs(tmp, exist_ok=True)
    with ipc.new_stream(os.path.join(tmp, "data.arrows"), table.schema) as w:
        w.write_table(table)
    os.rename(tmp, os.path.join(root, name))


def sorted_rows(rows):
    return sorted(rows, key=lambda r: json.dumps(r, sort_keys=True, default=str))
