#!/usr/bin/env bash
# Loads the shop as deployed: nats-server (JetStream) and the three services (release builds),
# all on 127.0.0.1, driven over HTTP by oha and wrk. Run by hand (not in CI), from anywhere:
#
#   examples/shop/load.sh
#
# 1. fixed rates, open loop (oha), with latency percentiles corrected for coordinated omission;
# 2. steps of more connections, unpaced (wrk), to find the saturation point;
# 3. the same JSON work on a bare axum handler (the floor), by the same generators;
# 4. chaos at a steady rate: payments SIGKILLed and restarted, nats-server restarted,
#    inventory paused (SIGSTOP) and resumed;
# 5. the books (books.py over the services' SQLite files): every accepted order confirmed with
#    one charge and one reservation, or cancelled with neither; nothing lost or doubled.
#
# The last line: shop: N orders, C confirmed, K compensated, lost 0, doubled 0, p99 P ms at
# R/s, saturation S/s. Exits 1 when the books do not balance. Takes about 3 minutes after the
# build. Everything it starts is stopped on exit; SHOP_LOAD_KEEP=1 keeps its directory (logs,
# databases).
#
# The fixed rates are oha's (`-q`, `--latency-correction`): every request has its time on a fixed
# schedule and its latency counts from then, so a stall counts against every request it delays.
# The chaos run is wrk's, paced (closed loop), because wrk's script sees each response and so
# records which orders were accepted, for the books (see docs/example.md).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BIN="$ROOT/target/release"
NATS_SERVER=${NATS_SERVER_BIN:-$(command -v nats-server || echo /usr/sbin/nats-server)}
FIXED_RATES=(100 200 400)
STEP_CONNECTIONS=(4 16 64 128 256)
CHAOS_RATE=100
PACED_CONNECTIONS=64
INITIAL_STOCK=1000000000

if ! command -v wrk > /dev/null; then
    echo "load.sh needs wrk, the HTTP load generator: apt-get install -y wrk" >&2
    exit 2
fi
if ! oha --version > /dev/null 2>&1; then
    echo "load.sh needs oha (1.5 or later), the open-loop HTTP load generator: cargo install oha --locked" >&2
    exit 2
fi
if [ ! -x "$NATS_SERVER" ]; then
    echo "load.sh needs nats-server (apt-get install -y nats-server), or NATS_SERVER_BIN set to it" >&2
    exit 2
fi
if ! command -v python3 > /dev/null; then
    echo "load.sh needs python3 for the books check" >&2
    exit 2
fi

echo "building the services (release)..."
(cd "$ROOT" && CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --release --quiet \
    -p catga-example-shop --bins --example bare-axum-floor)

WORK=$(mktemp -d /tmp/shop-load.XXXXXX)
mkdir -p "$WORK/data" "$WORK/accepted" "$WORK/floor" "$WORK/logs"
declare -A PID=()

stop() {
    local name=$1 signal=${2:-TERM}
    if [ -n "${PID[$name]:-}" ]; then
        kill -CONT "${PID[$name]}" 2> /dev/null || true
        kill "-$signal" "${PID[$name]}" 2> /dev/null || true
        wait "${PID[$name]}" 2> /dev/null || true
        unset "PID[$name]"
    fi
}

cleanup() {
    for name in "${!PID[@]}"; do
        stop "$name" KILL
    done
    if [ "${SHOP_LOAD_KEEP:-0}" = 1 ]; then
        echo "kept $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

NATS_PORT=$(free_port)
HTTP_ADDR="127.0.0.1:$(free_port)"
FLOOR_ADDR="127.0.0.1:$(free_port)"
declare -A OPS_ADDR=(
    [orders]="127.0.0.1:$(free_port)"
    [payments]="127.0.0.1:$(free_port)"
    [inventory]="127.0.0.1:$(free_port)"
)

start_nats() {
    "$NATS_SERVER" -js -sd "$WORK/nats" -a 127.0.0.1 -p "$NATS_PORT" \
        >> "$WORK/logs/nats.log" 2>&1 &
    PID[nats]=$!
}

start_service() {
    local name=$1
    CATGA_NATS_URL="nats://127.0.0.1:$NATS_PORT" SHOP_DATA_DIR="$WORK/data" \
        CATGA_METRICS_ADDR="${OPS_ADDR[$name]}" SHOP_HTTP_ADDR="$HTTP_ADDR" \
        "$BIN/shop-$name" >> "$WORK/logs/$name.log" 2>&1 &
    PID[$name]=$!
}

# Waits up to 20 s for `url` to answer with `status`.
wait_for() {
    local url=$1 status=$2
    for _ in $(seq 200); do
        if [ "$(curl -s -o /dev/null -w '%{http_code}' "$url" 2> /dev/null)" = "$status" ]; then
            return 0
        fi
        sleep 0.1
    done
    echo "load.sh: $url did not come up; logs in $WORK/logs" >&2
    SHOP_LOAD_KEEP=1
    exit 1
}

# wrk against `url` for `seconds` with `connections`, each pausing `pause_ms` between a
# response and its next request; prints wrk's RESULT line (see orders.lua).
drive() {
    local url=$1 run=$2 connections=$3 pause_ms=$4 seconds=$5 results=$6
    local threads=$((connections < 2 ? 1 : 2))
    wrk -t "$threads" -c "$connections" -d "${seconds}s" --timeout 60s \
        -s "$HERE/orders.lua" "$url" -- "$run" "$pause_ms" "$results" 2> "$WORK/logs/wrk-$run.err" \
        | tee "$WORK/logs/wrk-$run.log" | grep '^RESULT' | sed "s/^RESULT/$run/"
}

# oha against `url` at `rate` requests/s for `seconds`, open loop on PACED_CONNECTIONS
# connections, waiting for the requests still out at the end; prints a RESULT line like
# drive's. Each request's body is a line drawn at random from a file of `rate * seconds * 100`
# orders (oha draws with replacement, so about one request in 200 repeats an order: the
# idempotent replay a retrying client makes). With `orders_ops` (the orders service's ops
# address) it writes `<prefix> <answered> <replays> <unanswered>` to <results>/oha-<run>, for
# the books: the requests answered 200, the idempotent replays among them (from the service's
# metrics), and the requests not answered 200.
drive_fixed() {
    local url=$1 run=$2 rate=$3 seconds=$4 results=$5 orders_ops=${6:-}
    local bodies="$WORK/bodies-$run" replays_before=0
    order_bodies "$bodies" "$run-" $((rate * seconds * 100))
    if [ -n "$orders_ops" ]; then
        replays_before=$(idempotent_replays "$orders_ops")
    fi
    oha -z "${seconds}s" -q "$rate" --latency-correction -c "$PACED_CONNECTIONS" \
        --wait-ongoing-requests-after-deadline --no-tui --output-format json \
        -m POST -T application/json -Z "$bodies" "$url/orders" \
        > "$WORK/logs/oha-$run.json" 2> "$WORK/logs/oha-$run.err"
    rm -f "$bodies"
    local line
    line=$(python3 "$HERE/oha_result.py" "$WORK/logs/oha-$run.json")
    echo "${line/#RESULT/$run}"
    if [ -n "$orders_ops" ]; then
        local answered requests
        answered=$(field answered "$line")
        requests=$(field requests "$line")
        echo "$run- $answered $(($(idempotent_replays "$orders_ops") - replays_before)) $((requests - answered))" \
            > "$results/oha-$run"
    fi
}

order_bodies() { # order_bodies FILE PREFIX COUNT: COUNT orders, one JSON body a line
    python3 -c '
import sys
path, prefix, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(path, "w") as out:
    for n in range(1, count + 1):
        card = "4000-0000-0000-0002" if n % 10 == 0 else "4242-4242-4242-4242"
        out.write(f"{{\"order_id\":\"{prefix}{n}\",\"sku\":\"book\",\"quantity\":1,"
                  f"\"amount_cents\":1999,\"card\":\"{card}\"}}\n")
' "$@"
}

idempotent_replays() { # the PlaceOrders the orders service at ADDR answered without running
    curl -sf "http://$1/metrics" \
        | awk '/^catga_idempotent_hits_total\{.*PlaceOrder/ { n += $NF } END { print n + 0 }'
}

field() { # field NAME LINE: the value of NAME=... in LINE
    sed -n "s/.* $1=\([^ ]*\).*/\1/p" <<< " $2"
}

pause_for() { # the pause that gives `rate` requests/s over PACED_CONNECTIONS connections
    echo $((PACED_CONNECTIONS * 1000 / $1))
}

start_nats
sleep 0.5
start_service payments
start_service inventory
start_service orders
for name in orders payments inventory; do
    wait_for "http://${OPS_ADDR[$name]}/health/ready" 200
done
wait_for "http://$HTTP_ADDR/orders/none" 404
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "nats-server $("$NATS_SERVER" --version 2>&1 | head -1), wrk $(wrk -v 2>&1 | head -1 | cut -d' ' -f2), $(oha --version)"

echo "== warm-up"
drive "http://$HTTP_ADDR" warmup 8 0 5 "$WORK/accepted" > /dev/null

echo "== fixed rates (open loop, up to $PACED_CONNECTIONS in flight; latency from each request's scheduled time)"
HEADLINE=""
for rate in "${FIXED_RATES[@]}"; do
    line=$(drive_fixed "http://$HTTP_ADDR" "rate$rate" "$rate" 10 "$WORK/accepted" "${OPS_ADDR[orders]}")
    echo "$line"
    HEADLINE=$line
done

echo "== steps to saturation (unpaced)"
SATURATION=0
for connections in "${STEP_CONNECTIONS[@]}"; do
    line=$(drive "http://$HTTP_ADDR" "step$connections" "$connections" 0 8 "$WORK/accepted")
    echo "$line"
    rate=$(field rate "$line")
    SATURATION=$(python3 -c "print(max($SATURATION, $rate))")
done

echo "== floor: a bare axum handler doing the same JSON work"
SHOP_HTTP_ADDR="$FLOOR_ADDR" "$BIN/examples/bare-axum-floor" >> "$WORK/logs/floor.log" 2>&1 &
PID[floor]=$!
wait_for "http://$FLOOR_ADDR/orders" 405
top_rate=${FIXED_RATES[-1]}
drive_fixed "http://$FLOOR_ADDR" "floor-rate$top_rate" "$top_rate" 10 "$WORK/floor"
top_connections=${STEP_CONNECTIONS[-1]}
drive "http://$FLOOR_ADDR" "floor-step$top_connections" "$top_connections" 0 8 "$WORK/floor"
stop floor

echo "== chaos at $CHAOS_RATE/s: payments SIGKILLed, nats-server restarted, inventory paused"
drive "http://$HTTP_ADDR" chaos "$PACED_CONNECTIONS" "$(pause_for "$CHAOS_RATE")" 45 "$WORK/accepted" &
PID[chaos]=$!
sleep 8
echo "t=8s  SIGKILL payments"
stop payments KILL
sleep 2
echo "t=10s restart payments"
start_service payments
sleep 8
echo "t=18s restart nats-server"
stop nats TERM
sleep 2
start_nats
echo "t=20s nats-server back"
sleep 8
echo "t=28s SIGSTOP inventory"
kill -STOP "${PID[inventory]}"
sleep 3
echo "t=31s SIGCONT inventory"
kill -CONT "${PID[inventory]}"
wait "${PID[chaos]}"
unset "PID[chaos]"

echo "== books"
BOOKS=""
for _ in $(seq 60); do
    if BOOKS=$(python3 "$HERE/books.py" "$WORK/data" "$WORK/accepted" "$INITIAL_STOCK"); then
        break
    fi
    sleep 1
done
BALANCED=0
BOOKS=$(python3 "$HERE/books.py" "$WORK/data" "$WORK/accepted" "$INITIAL_STOCK") || BALANCED=$?
echo "$BOOKS"
summary=$(tail -1 <<< "$BOOKS")
read -r _ orders _ confirmed _ compensated _ _ lost _ doubled _ <<< "$summary"
echo "shop: $orders orders, $confirmed confirmed, $compensated compensated, lost $lost, doubled $doubled, p99 $(field p99_ms "$HEADLINE") ms at $(field rate "$HEADLINE")/s, saturation ${SATURATION%.*}/s"
exit "$BALANCED"
