#!/usr/bin/env bash
# A local PicSharp cluster in one command, on loopback, everything in one throwaway folder:
#   scripts/cluster.sh start [DIR]   PostgreSQL (the shared memory store), RabbitMQ (the bulk queue), two `pic serve`
#                                    replicas and two `pic worker`s; prints the addresses, returns when all are ready
#   scripts/cluster.sh stop [DIR]    stops the workers and replicas (SIGTERM: they finish what they hold), then
#                                    RabbitMQ and PostgreSQL; the folder (data and logs) stays until you delete it
#   scripts/cluster.sh status [DIR]  which parts are running
# DIR defaults to ${TMPDIR:-/tmp}/picsharp-cluster. Ports: PIC_PG_PORT (55432), PIC_RABBIT_PORT (55672, and the two
# above it), PIC_SERVE_PORT (8081, and the one above it). PIC_ENGINE_ARGS passes model options to every replica and
# worker (default: the bundled model and compressor). Needs postgresql and rabbitmq-server (apt-get install -y ...).
set -euo pipefail
cd "$(dirname "$0")/.."
action=${1:-}
dir=$(realpath -m "${2:-${TMPDIR:-/tmp}/picsharp-cluster}")
pg_port=${PIC_PG_PORT:-55432}
rabbit_port=${PIC_RABBIT_PORT:-55672}
serve_port=${PIC_SERVE_PORT:-8081}
read -r -a engine <<<"${PIC_ENGINE_ARGS:-}"
store="postgres://postgres@127.0.0.1:$pg_port/pic"
broker="amqp://guest:guest@127.0.0.1:$rabbit_port/"
pic=src/PicSharp.Cli/bin/Release/net10.0/pic

running() { [ -f "$dir/$1.pid" ] && kill -0 "$(cat "$dir/$1.pid")" 2>/dev/null; }

# A part as a background process of its own, its output in DIR/NAME.log and its process id in DIR/NAME.pid.
launch() {
  local name=$1; shift
  running "$name" && return 0
  setsid "$@" >"$dir/$name.log" 2>&1 </dev/null &
  echo $! >"$dir/$name.pid"
}

wait_ready() {
  local url=$1 name=$2
  for _ in $(seq 240); do
    curl -fs "$url/ready" >/dev/null 2>&1 && return 0
    running "$name" || { echo "$name exited: $(tail -3 "$dir/$name.log")" >&2; return 1; }
    sleep 0.5
  done
  echo "$name not ready within 2 minutes: $(tail -3 "$dir/$name.log")" >&2
  return 1
}

case "$action" in
  start)
    mkdir -p "$dir"
    nice -n 10 dotnet build src/PicSharp.Cli -c Release -v q -nologo >"$dir/build.log" 2>&1 || { echo "build failed: see $dir/build.log" >&2; exit 1; }
    scripts/postgres-local.sh start "$dir/postgres" "$pg_port"
    psql -h 127.0.0.1 -p "$pg_port" -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname = 'pic'" | grep -q 1 \
      || psql -h 127.0.0.1 -p "$pg_port" -U postgres -qc "CREATE DATABASE pic"
    [ -f "$dir/rabbitmq/port" ] || scripts/rabbitmq-local.sh start "$dir/rabbitmq" "$rabbit_port"
    for i in 1 2; do
      launch "serve-$i" "$pic" serve --store "$store" --url "http://127.0.0.1:$((serve_port + i - 1))" --threads 1 "${engine[@]}"
    done
    for i in 1 2; do
      launch "worker-$i" "$pic" worker --store "$store" --broker "$broker" --threads 1 "${engine[@]}"
    done
    for i in 1 2; do wait_ready "http://127.0.0.1:$((serve_port + i - 1))" "serve-$i"; done
    cat <<EOT
cluster running in $dir
  store    $store
  broker   $broker
  replicas http://127.0.0.1:$serve_port  http://127.0.0.1:$((serve_port + 1))
  workers  2 (logs: $dir/worker-*.log)
bulk compression:  PIC_BROKER=$broker $pic enqueue --wait FILES-OR-FOLDERS
stop:              scripts/cluster.sh stop $dir
EOT
    ;;
  stop)
    for name in worker-1 worker-2 serve-1 serve-2; do
      if running "$name"; then kill -TERM "$(cat "$dir/$name.pid")"; fi
    done
    for name in worker-1 worker-2 serve-1 serve-2; do
      for _ in $(seq 60); do running "$name" || break; sleep 0.5; done
      if running "$name"; then kill -KILL "$(cat "$dir/$name.pid")"; fi
      rm -f "$dir/$name.pid"
    done
    [ ! -d "$dir/rabbitmq" ] || scripts/rabbitmq-local.sh stop "$dir/rabbitmq"
    [ ! -d "$dir/postgres" ] || scripts/postgres-local.sh stop "$dir/postgres"
    echo "cluster stopped; its data and logs stay in $dir"
    ;;
  status)
    for name in serve-1 serve-2 worker-1 worker-2; do
      if running "$name"; then echo "$name running (pid $(cat "$dir/$name.pid"))"; else echo "$name stopped"; fi
    done
    if [ -f "$dir/postgres/data/postmaster.pid" ]; then echo "postgres running on $pg_port"; else echo "postgres stopped"; fi
    if [ -f "$dir/rabbitmq/port" ]; then echo "rabbitmq running on $(cat "$dir/rabbitmq/port")"; else echo "rabbitmq stopped"; fi
    ;;
  *) echo "usage: $0 start|stop|status [DIR]" >&2; exit 2 ;;
esac
