"""The Kafka backend from Python: tabledata.read() of a kafka:// URI and of a
kafka('host:port', 'topic') source, static and live, against a librdkafka
mock cluster in a helper process (tests/backends/kafka/kafka_mock of the
build directory run-tests.sh was given).  Skipped without it or with a
library built without Kafka."""
import os
import subprocess
import time

import pytest

import tabledata

BUILD = os.environ.get("TABLEDATA_BUILD_DIR")
MOCK = os.path.join(BUILD, "tests", "backends", "kafka", "kafka_mock") if BUILD else None


@pytest.fixture(scope="module")
def cluster():
    if not MOCK or not os.access(MOCK, os.X_OK):
        pytest.skip("no kafka_mock in the build directory (a build without librdkafka, or none given)")
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    p = subprocess.Popen([MOCK, "ticks", "2"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
    bootstrap = p.stdout.readline().strip()

    def produce(n):
        p.stdin.write(f"{n}\n")
        p.stdin.flush()
        assert p.stdout.readline().strip() == "ok"

    try:
        yield bootstrap, produce
    finally:
        p.stdin.close()
        p.wait(timeout=30)


def test_read_static_and_live(cluster):
    bootstrap, produce = cluster
    produce(10)
    try:
        t = tabledata.read(f"kafka://{bootstrap}/ticks?format=json")
    except Exception as e:  # a library built without Kafka
        if "without Kafka" in str(e) or "No such file" in str(e):
            pytest.skip(str(e))
        raise
    assert t.size == 10
    data = t.to_arrow()
    rows = sorted(zip(data.column("partition").to_pylist(), data.column("offset").to_pylist(),
                      data.column("id").to_pylist()))
    assert rows == sorted((i % 2, i // 2, i) for i in range(10))
    r = tabledata.sql("SELECT partition, count(*) AS n FROM t GROUP BY partition ORDER BY partition", t=t)
    assert r.to_arrow().column("n").to_pylist() == [5, 5]

    live = tabledata.read(f"kafka('{bootstrap}', 'ticks', format => 'json', poll_ms => '50')", refreshing=True,
                          update_period=0.05)
    assert live.size == 10
    produce(30)
    deadline = time.time() + 20
    while live.size < 40 and time.time() < deadline:
        time.sleep(0.05)
    assert sorted(live.to_arrow().column("id").to_pylist()) == list(range(40))
    with pytest.raises(Exception, match="unknown option 'colour'"):
        tabledata.read(f"kafka://{bootstrap}/ticks?colour=red")
