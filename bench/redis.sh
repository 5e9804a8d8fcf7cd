#!/usr/bin/env bash
# Alerts to Redis: what publishing costs an alert-heavy replay, and how many
# alerts a second the publisher sustains to a local Redis.
#
#   make bench-redis                 # also the last part of make bench
#   STORM_PACKETS=1000000 make bench-redis
#
# A redis-server is started for the run on 127.0.0.1 and a free port, with
# no persistence, and stopped at the end. The two replays alternate, each
# keeping its best of $PAIRS, with the capture in the page cache; the
# throughput figures are the best of $RUNS.
set -euo pipefail

BUILD=${BUILD:-build}
DATA=${BENCH_DATA:-$BUILD/bench-data}
RUNS=${RUNS:-3}
IOTIDS=${IOTIDS:-./iotids}
STORM_PACKETS=${STORM_PACKETS:-2000000}
PUB_ALERTS=${PUB_ALERTS:-500000}
GEN=$BUILD/iotgen
mkdir -p "$DATA"

storm="$DATA/alertstorm-$STORM_PACKETS.pcap"
if [ ! -s "$storm" ]; then
	echo "generating $storm" >&2
	"$GEN" alertstorm --seed 1 --packets "$STORM_PACKETS" -o "$storm.tmp" >&2
	mv "$storm.tmp" "$storm"
fi
cat "$storm" >/dev/null

rdir=$(cd "$(mktemp -d "$DATA/redis.XXXXXX")" && pwd)
pid=""
cleanup() {
	[ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$rdir"
}
trap cleanup EXIT
for _ in 1 2 3 4 5; do
	port=$((20000 + RANDOM % 30000))
	redis-server --port "$port" --bind 127.0.0.1 --save "" --appendonly no --dir "$rdir" \
		--logfile "$rdir/redis.log" --daemonize no &
	pid=$!
	for _ in $(seq 100); do
		redis-cli -p "$port" ping >/dev/null 2>&1 && break
		sleep 0.05
	done
	redis-cli -p "$port" ping >/dev/null 2>&1 && break
	kill "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	pid=""
done
[ -n "$pid" ] || { echo "redis-server did not start" >&2; exit 1; }
url="redis://127.0.0.1:$port"

one_run() { # args... -> wall seconds of one iotids replay
	local t0 t1
	t0=$(date +%s.%N)
	"$IOTIDS" replay --json "$@" >"$rdir/last.json"
	t1=$(date +%s.%N)
	awk -v a="$t0" -v z="$t1" 'BEGIN{print z-a}'
}

echo
echo "Alerts to Redis (redis-server $(redis-server --version | sed 's/.*v=\([^ ]*\).*/\1/') on 127.0.0.1, no persistence)"
# This VM's speed drifts by tens of percent from run to run, so the two
# replays alternate and each keeps its best of $PAIRS.
PAIRS=${PAIRS:-5}
file_s="" redis_s=""
for _ in $(seq "$PAIRS"); do
	t=$(one_run --learn-for 10m --alerts "$rdir/alerts.json" "$storm")
	file_s=$(awk -v b="$file_s" -v t="$t" 'BEGIN{print (b=="" || t<b)?t:b}')
	redis-cli -p "$port" del iotids:alerts >/dev/null
	rm -rf "$rdir/spool"
	t=$(one_run --learn-for 10m --alerts "$rdir/alerts.json" --redis "$url" --redis-spool "$rdir/spool" "$storm")
	redis_s=$(awk -v b="$redis_s" -v t="$t" 'BEGIN{print (b=="" || t<b)?t:b}')
done
alerts=$(wc -l <"$rdir/alerts.json")
published=$(jq '.redis.published' "$rdir/last.json")
dropped=$(jq '.redis.dropped' "$rdir/last.json")
spooled=$(jq '.redis.spooled' "$rdir/last.json")
echo "alertstorm ($STORM_PACKETS packets, $alerts alerts):"
awk -v f="$file_s" -v r="$redis_s" -v n="$alerts" -v p="$published" -v d="$dropped" -v s="$spooled" 'BEGIN{
	o = (r / f - 1) * 100
	printf "  replay --alerts FILE           %.3f s (%.0f alerts/s of replay)\n", f, n / f
	printf "  replay --alerts FILE --redis   %.3f s: %+.1f%% time (target <= 10%%) %s; %d published, %d spooled, %d dropped\n",
		r, o, (o <= 10) ? "ok" : "MISSED", p, s, d }'
[ "$published" = "$alerts" ] || echo "  MISSED: $published of $alerts alerts published"

# Sustained throughput: the floor is redis-benchmark pipelining the very
# same XADD from one connection, the most this Redis takes from one client.
head -n 1 "$rdir/alerts.json" >"$rdir/one.json"
floor=$(redis-benchmark -p "$port" -c 1 -P 512 -n "$PUB_ALERTS" --csv XADD bench:floor MAXLEN '~' 100000 '*' \
	json "$(cat "$rdir/one.json")" alert_id 0123456789abcdef device c0:56:e3:fa:8a:c3 kind unexpected_destination \
	severity medium gateway bench 2>/dev/null | tail -n 1 | awk -F'","' '{print $(NF-6)}')
best=0
for _ in $(seq "$RUNS"); do
	rm -rf "$rdir/pubspool"
	read -r _ _ rate pub _ _ drop < <("$BUILD/bench/redispub" "$url" "$PUB_ALERTS" "$rdir/one.json" "$rdir/pubspool")
	[ "$pub" = "$PUB_ALERTS" ] && [ "$drop" = 0 ] || echo "  MISSED: redispub published $pub, dropped $drop"
	best=$(awk -v a="$best" -v b="$rate" 'BEGIN{print (b>a)?b:a}')
done
# The spool's own delivery rate: everything spooled with Redis away, then
# delivered first by the next publisher.
# 40,000 alerts fit the default 64 MiB spool.
rm -rf "$rdir/pubspool"
"$BUILD/bench/redispub" "redis://127.0.0.1:1" 40000 "$rdir/one.json" "$rdir/pubspool" >/dev/null 2>&1
read -r _ secs _ _ _ from _ < <("$BUILD/bench/redispub" "$url" 1 "$rdir/one.json" "$rdir/pubspool" 2>/dev/null)
echo "publisher, $PUB_ALERTS alerts of $(wc -c <"$rdir/one.json") bytes (each one XADD + one PUBLISH), pipelined:"
awk -v r="$best" -v f="$floor" -v n="$from" -v s="$secs" 'BEGIN{
	printf "  %.0f alerts/s (target >= 50000) %s; redis-benchmark XADD alone %.0f/s: ratio %.2f\n",
		r, (r >= 50000) ? "ok" : "MISSED", f, r / f
	printf "  from the spool: %d alerts delivered in %.3f s, %.0f alerts/s\n", n, s, n / s }'
