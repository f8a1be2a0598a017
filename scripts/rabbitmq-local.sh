#!/usr/bin/env bash
# A throwaway RabbitMQ node for the tests and scripts/cluster.sh, from the Debian package:
#   scripts/rabbitmq-local.sh start DIR PORT   a node of its own (name pic-PORT@localhost, its own Erlang cookie and
#                                              epmd on PORT+1) listening for AMQP on 127.0.0.1:PORT, everything it
#                                              writes in DIR, no plugins; waits until it takes connections
#   scripts/rabbitmq-local.sh stop DIR         stops the node and its epmd, waits until stopped
# User guest (password guest) may connect, as it may on loopback by default. Exits non-zero with one line naming the problem.
set -euo pipefail
action=${1:-} dir=${2:-}
[ -n "$action" ] && [ -n "$dir" ] || { echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2; }
dir=$(realpath -m "$dir")
bin=/usr/lib/rabbitmq/bin
[ -x "$bin/rabbitmq-server" ] || { echo "RabbitMQ is not installed (no $bin/rabbitmq-server): apt-get install -y rabbitmq-server (scripts/test.sh does it)" >&2; exit 1; }

# Everything the node reads and writes lives in DIR: nothing of /etc/rabbitmq or /var/lib/rabbitmq, and a port of
# its own for epmd, so stopping this node never touches another one on the machine.
node_env() {
  local port=$1
  export HOME="$dir" RABBITMQ_NODENAME="pic-$port@localhost" RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT="$port" \
    RABBITMQ_DIST_PORT=$((port + 2)) ERL_EPMD_PORT=$((port + 1)) ERL_EPMD_ADDRESS=127.0.0.1 \
    RABBITMQ_MNESIA_BASE="$dir/mnesia" RABBITMQ_LOG_BASE="$dir/log" RABBITMQ_PID_FILE="$dir/rabbitmq.pid" \
    RABBITMQ_CONFIG_FILE="$dir/rabbitmq.conf" RABBITMQ_ADVANCED_CONFIG_FILE="$dir/advanced.config" \
    RABBITMQ_CONF_ENV_FILE="$dir/rabbitmq-env.conf" RABBITMQ_ENABLED_PLUGINS_FILE="$dir/enabled_plugins" \
    RABBITMQ_PLUGINS_EXPAND_DIR="$dir/plugins-expand" \
    RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}"
}

case "$action" in
  start)
    port=${3:?usage: $0 start DIR PORT}
    mkdir -p "$dir/log"
    echo "$port" >"$dir/port"
    [ -f "$dir/.erlang.cookie" ] || { head -c 24 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' >"$dir/.erlang.cookie"; chmod 400 "$dir/.erlang.cookie"; }
    printf 'disk_free_limit.absolute = 50MB\nlog.console = false\n' >"$dir/rabbitmq.conf"
    echo '[].' >"$dir/enabled_plugins"
    echo '[].' >"$dir/advanced.config"
    : >"$dir/rabbitmq-env.conf"
    node_env "$port"
    setsid "$bin/rabbitmq-server" >"$dir/log/startup.log" 2>&1 </dev/null &
    # await_startup fails at once while the node is not yet known to epmd: ask again until it answers.
    for _ in $(seq 120); do
      "$bin/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" await_startup --timeout 5 >/dev/null 2>&1 && exit 0
      sleep 0.5
    done
    echo "RabbitMQ did not start on port $port within a minute: $(tail -3 "$dir/log/startup.log")" >&2
    exit 1
    ;;
  stop)
    [ -f "$dir/port" ] || exit 0
    node_env "$(cat "$dir/port")"
    pid=$(cat "$RABBITMQ_PID_FILE" 2>/dev/null || true)
    "$bin/rabbitmqctl" -q -n "$RABBITMQ_NODENAME" stop >/dev/null 2>&1 || { [ -z "$pid" ] || kill "$pid" 2>/dev/null || true; }
    for _ in $(seq 60); do [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    # epmd refuses to stop while a node is still registered: the node deregisters as it exits.
    for _ in $(seq 20); do epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 && break; sleep 0.25; done
    rm -f "$dir/port"
    ;;
  *) echo "usage: $0 start DIR PORT | stop DIR" >&2; exit 2 ;;
esac
