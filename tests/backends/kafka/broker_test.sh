#!/bin/bash
# tests/backends/kafka/broker_test.sh - runs a test program against a real
# Apache Kafka cluster (KRaft: $TD_KAFKA_NODES nodes, default 3, each a
# broker and a controller voter) started here on free local ports, in a
# temporary directory.
#
#   broker_test.sh PROGRAM     fetch the jars if needed, start the nodes, run
#                              PROGRAM with TD_KAFKA_BROKER=host:port,...,
#                              TD_KAFKA_NODES=N and TD_KAFKA_CTL=<command>:
#                              "<command> stop|start|restart I" stops,
#                              starts or restarts node I (1..N); stop the
#                              nodes; PROGRAM's exit code
#   broker_test.sh fetch       only fetch the jars
#   broker_test.sh ctl DIR stop|start|restart I   (what TD_KAFKA_CTL runs)
#
# The jars (org.apache.kafka:kafka_2.13 and its dependencies, version in
# broker/pom.xml) come from Maven Central through `mvn` into $TD_KAFKA_JARS
# (default: build/kafka-jars at the top of the repository, git-ignored).
# Exit code 77 (ctest: skipped) with a message when Java or the jars are
# missing and Maven cannot fetch them, when TD_SKIP_KAFKA_BROKER is set, or
# when the cluster does not start.  Each node is a JVM of at most 400 MB heap.
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

# start DIR: starts the node of DIR (server.properties, port in DIR/port).
start() {
  java_run kafka.Kafka "$1/server.properties" >>"$1/broker.log" 2>&1 &
  echo $! >"$1/broker.pid"
}

# wait_up DIR: waits until the node of DIR accepts connections.
wait_up() {
  port=$(cat "$1/port")
  waited=0
  while ! port_open "$port"; do
    if ! kill -0 "$(cat "$1/broker.pid")" 2>/dev/null; then
      echo "broker_test: the node of $1 exited; its log:"; tail -20 "$1/broker.log"; return 1
    fi
    [ "$waited" -ge "$start_timeout" ] && { echo "broker_test: no node on port $port after ${waited}s"; return 1; }
    sleep 1; waited=$((waited + 1))
  done
  echo "broker_test: node up on 127.0.0.1:$port after ${waited}s"
}

# stop DIR: stops it (SIGTERM: a controlled shutdown; SIGKILL after 60 s).
stop() {
  pid=$(cat "$1/broker.pid" 2>/dev/null) || return 0
  kill "$pid" 2>/dev/null || { rm -f "$1/broker.pid"; return 0; }
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
  ctl)
    node="$2/node$4"
    case "$3" in
      stop) stop "$node" ;;
      start) start "$node" && wait_up "$node" ;;
      restart) stop "$node" && start "$node" && wait_up "$node" ;;
      *) echo "broker_test: ctl: unknown action $3" >&2; exit 2 ;;
    esac
    exit $? ;;
  "") echo "usage: $0 PROGRAM | fetch | ctl DIR stop|start|restart I" >&2; exit 2 ;;
esac

[ -n "${TD_SKIP_KAFKA_BROKER:-}" ] && skip "TD_SKIP_KAFKA_BROKER is set"
command -v java >/dev/null 2>&1 || skip "no java on PATH (a Kafka broker needs Java 17)"
fetch || skip "no Kafka jars in $jars and Maven could not fetch them (offline?)"

nodes=${TD_KAFKA_NODES:-3}
dir=$(mktemp -d "${TMPDIR:-/tmp}/td-kafka-broker.XXXXXX")
cleanup() { # SIGKILL: the data is thrown away, and nodes stopped one by one lose their quorum
  for i in $(seq 1 "$nodes"); do
    pid=$(cat "$dir/node$i/broker.pid" 2>/dev/null) && kill -9 "$pid" 2>/dev/null
  done
  wait 2>/dev/null
  rm -rf "$dir"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
voters="" brokers=""
for i in $(seq 1 "$nodes"); do
  mkdir -p "$dir/node$i"
  free_port >"$dir/node$i/port"
  free_port >"$dir/node$i/cport"
  voters="$voters${voters:+,}$i@127.0.0.1:$(cat "$dir/node$i/cport")"
  brokers="$brokers${brokers:+,}127.0.0.1:$(cat "$dir/node$i/port")"
done
rf=$(( nodes < 3 ? nodes : 3 ))
# A cluster id: 16 random bytes, base64url without padding (Uuid.toString).
cid=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')
for i in $(seq 1 "$nodes"); do
  n="$dir/node$i" port=$(cat "$dir/node$i/port") cport=$(cat "$dir/node$i/cport")
  cat >"$n/server.properties" <<EOF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$n/data
num.partitions=1
default.replication.factor=$rf
auto.create.topics.enable=false
offsets.topic.replication.factor=$rf
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=$rf
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=1
group.initial.rebalance.delay.ms=0
log.cleaner.backoff.ms=200
log.segment.delete.delay.ms=0
EOF
  # formats in parallel (a JVM start each)
  ( (java_run kafka.tools.StorageTool format -t "$cid" -c "$n/server.properties") >"$n/format.log" 2>&1
    echo $? >"$n/format.rc" ) &
done
wait
for i in $(seq 1 "$nodes"); do
  [ "$(cat "$dir/node$i/format.rc")" = 0 ] ||
    { tail -5 "$dir/node$i/format.log"; skip "formatting the KRaft storage of node $i failed"; }
done
for i in $(seq 1 "$nodes"); do start "$dir/node$i"; done
for i in $(seq 1 "$nodes"); do wait_up "$dir/node$i" || skip "Kafka node $i did not start"; done
TD_KAFKA_BROKER="$brokers" TD_KAFKA_NODES="$nodes" TD_KAFKA_CTL="'$here/broker_test.sh' ctl '$dir'" "$1"
rc=$?
if [ "$rc" -ne 0 ] && [ "$rc" -ne 77 ]; then
  for i in $(seq 1 "$nodes"); do echo "broker_test: node $i's log ends:"; tail -10 "$dir/node$i/broker.log"; done
fi
exit "$rc"
