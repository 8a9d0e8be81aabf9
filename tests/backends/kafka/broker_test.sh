#!/bin/bash
# tests/backends/kafka/broker_test.sh - runs a test program against a real
# Apache Kafka broker (KRaft, one node acting as broker and controller)
# started here on free local ports, in a temporary directory.
#
#   broker_test.sh PROGRAM     fetch the jars if needed, start a broker, run
#                              PROGRAM with TD_KAFKA_BROKER=host:port and
#                              TD_KAFKA_RESTART=<a command restarting it>,
#                              stop the broker; PROGRAM's exit code
#   broker_test.sh fetch       only fetch the jars
#   broker_test.sh restart DIR restart the broker whose directory is DIR
#
# The jars (org.apache.kafka:kafka_2.13 and its dependencies, version in
# broker/pom.xml) come from Maven Central through `mvn` into $TD_KAFKA_JARS
# (default: build/kafka-jars at the top of the repository, git-ignored).
# Exit code 77 (ctest: skipped) with a message when Java or the jars are
# missing and Maven cannot fetch them, when TD_SKIP_KAFKA_BROKER is set, or
# when the broker does not start.  One broker only: a partition leader
# change (needs three brokers, about 1.2 GB of JVMs on this 2-core machine)
# is not tested.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../../.." && pwd)
jars=${TD_KAFKA_JARS:-$top/build/kafka-jars}
start_timeout=${TD_KAFKA_START_TIMEOUT:-240}

skip() {
  echo "broker_test: skipped: $*"
  exit 77
}

fetch() {
  if ls "$jars"/kafka_2.13-*.jar >/dev/null 2>&1; then return 0; fi
  command -v mvn >/dev/null 2>&1 || return 1
  echo "broker_test: fetching the Kafka jars from Maven Central into $jars"
  mkdir -p "$jars.tmp" || return 1
  if timeout 600 mvn -B -q -f "$here/broker/pom.xml" dependency:copy-dependencies \
      -DoutputDirectory="$jars.tmp" >"$jars.tmp.log" 2>&1 &&
    ls "$jars.tmp"/kafka_2.13-*.jar >/dev/null 2>&1; then
    rm -rf "$jars" && mv "$jars.tmp" "$jars" && rm -f "$jars.tmp.log"
    return 0
  fi
  echo "broker_test: mvn failed (log: $jars.tmp.log)"
  rm -rf "$jars.tmp"
  return 1
}

java_run() { # main class and arguments
  exec java -Xms64m -Xmx400m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -cp "$jars/*" "$@"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

free_port() {
  while :; do
    p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 40000 ))
    port_open "$p" || { echo "$p"; return; }
  done
}

# start DIR: starts the broker of DIR (server.properties, port in DIR/port).
start() {
  java_run kafka.Kafka "$1/server.properties" >>"$1/broker.log" 2>&1 &
  echo $! >"$1/broker.pid"
  port=$(cat "$1/port")
  waited=0
  while ! port_open "$port"; do
    if ! kill -0 "$(cat "$1/broker.pid")" 2>/dev/null; then
      echo "broker_test: the broker exited; its log:"; tail -20 "$1/broker.log"; return 1
    fi
    [ "$waited" -ge "$start_timeout" ] && { echo "broker_test: no broker on port $port after ${waited}s"; return 1; }
    sleep 1; waited=$((waited + 1))
  done
  echo "broker_test: broker up on 127.0.0.1:$port after ${waited}s"
}

# stop DIR: stops it (SIGTERM: a controlled shutdown; SIGKILL after 60 s).
stop() {
  pid=$(cat "$1/broker.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || return 0
  i=0
  while kill -0 "$pid" 2>/dev/null; do
    [ "$i" -ge 60 ] && { kill -9 "$pid" 2>/dev/null; break; }
    sleep 1; i=$((i + 1))
  done
  wait "$pid" 2>/dev/null
  rm -f "$1/broker.pid"
}

case "${1:-}" in
  fetch) fetch; exit $? ;;
  restart) stop "$2" && start "$2"; exit $? ;;
  "") echo "usage: $0 PROGRAM | fetch | restart DIR" >&2; exit 2 ;;
esac

[ -n "${TD_SKIP_KAFKA_BROKER:-}" ] && skip "TD_SKIP_KAFKA_BROKER is set"
command -v java >/dev/null 2>&1 || skip "no java on PATH (a Kafka broker needs Java 17)"
fetch || skip "no Kafka jars in $jars and Maven could not fetch them (offline?)"

dir=$(mktemp -d "${TMPDIR:-/tmp}/td-kafka-broker.XXXXXX")
trap 'stop "$dir"; rm -rf "$dir"' EXIT INT TERM
port=$(free_port)
cport=$(free_port)
echo "$port" >"$dir/port"
cat >"$dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$dir/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
log.cleaner.backoff.ms=200
log.segment.delete.delay.ms=0
EOF
# A cluster id: 16 random bytes, base64url without padding (Uuid.toString).
cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
(java_run kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties") >"$dir/format.log" 2>&1 ||
  { tail -5 "$dir/format.log"; skip "formatting the KRaft storage failed"; }
start "$dir" || skip "the Kafka broker did not start"
TD_KAFKA_BROKER="127.0.0.1:$port" TD_KAFKA_RESTART="'$here/broker_test.sh' restart '$dir'" "$1"
rc=$?
[ "$rc" -ne 0 ] && [ "$rc" -ne 77 ] && { echo "broker_test: the broker's log ends:"; tail -20 "$dir/broker.log"; }
exit "$rc"
