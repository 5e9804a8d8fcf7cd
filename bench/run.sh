#!/usr/bin/env bash
# iotids benchmark: replay throughput as a ratio of a plain libpcap read loop
# over the same file in the same run, and peak memory.
#
#   make bench                      # defaults below
#   MIX_PACKETS=1000000 FLOOD_PACKETS=2000000 make bench   # quicker
#
# Captures are generated once into $BENCH_DATA (default build/bench-data) and
# reused; delete the folder to regenerate. Each figure is the best of $RUNS
# runs with the file in the page cache, so disk speed is not measured.
set -euo pipefail

BUILD=${BUILD:-build}
DATA=${BENCH_DATA:-$BUILD/bench-data}
MIX_PACKETS=${MIX_PACKETS:-5000000}
FLOOD_PACKETS=${FLOOD_PACKETS:-10000000}
RUNS=${RUNS:-3}
IOTIDS=${IOTIDS:-./iotids}
GEN=$BUILD/iotgen
FLOOR=$BUILD/bench/readfloor

mkdir -p "$DATA"

gen() { # kind packets -> path
	local f="$DATA/$1-$2.pcap"
	if [ ! -s "$f" ]; then
		echo "generating $f" >&2
		"$GEN" "$1" --seed 1 --packets "$2" -o "$f.tmp" >&2
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

best_floor() { # [--buffer BYTES] file -> "packets pps"
	local best=0 n=0
	for _ in $(seq "$RUNS"); do
		read -r n _ pps < <("$FLOOR" "$@")
		best=$(awk -v a="$best" -v b="$pps" 'BEGIN{print (b>a)?b:a}')
	done
	echo "$n $best"
}

# Runs iotids replay; prints "pps peak_rss_kib" (best pps, largest RSS) and
# leaves the summary JSON in $DATA/last.json.
best_replay() { # file packets [extra args]
	local f=$1 n=$2; shift 2
	local best=0 rss=0
	for _ in $(seq "$RUNS"); do
		local t0 t1 m
		t0=$(date +%s.%N)
		m=$(/usr/bin/time -f '%M' "$IOTIDS" replay --json "$@" "$f" 2>&1 >"$DATA/last.json" | tail -n 1)
		t1=$(date +%s.%N)
		best=$(awk -v a="$best" -v n="$n" -v t0="$t0" -v t1="$t1" 'BEGIN{p=n/(t1-t0); print (p>a)?p:a}')
		rss=$(( m > rss ? m : rss ))
	done
	echo "$best $rss"
}

mix=$(gen mix "$MIX_PACKETS")
flood=$(gen synflood "$FLOOD_PACKETS")
flood_small=$(gen synflood $((FLOOD_PACKETS / 4)))
cat "$mix" "$flood" "$flood_small" >/dev/null

# Two floors: the plain pcap_next_ex loop the targets are set against, and
# the same loop reading through the 256 KiB buffer iotids reads with, which
# is the cost of reading alone: its ratio is the share of time iotids spends
# outside reading.
echo
echo '"floor": plain pcap_next_ex loop (the targets'"'"' reference); "buf floor": the same loop'
echo 'reading through the 256 KiB buffer iotids uses. ratio = iotids/floor, buf ratio = iotids/buf floor.'
report() { # name file target [iotids args]
	local name=$1 f=$2 target=$3
	shift 3
	read -r n floor < <(best_floor "$f")
	read -r _ buffloor < <(best_floor --buffer 262144 "$f")
	read -r pps rss < <(best_replay "$f" "$n" "$@")
	local ratio bratio verdict
	ratio=$(awk -v a="$pps" -v b="$floor" 'BEGIN{printf "%.2f", a/b}')
	bratio=$(awk -v a="$pps" -v b="$buffloor" 'BEGIN{printf "%.2f", a/b}')
	verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN{print (r>=t)?"ok":"MISSED"}')
	printf '%-18s %9d %12.0f %12.0f %12.0f %6s %7s %9s %5d MiB  %s\n' "$name" "$n" "$floor" "$buffloor" "$pps" \
		"$ratio" ">=$target" "$bratio" $((rss / 1024)) "$verdict"
	echo "$rss" >"$DATA/$name.rss"
}
# The foundation's targets are for decoding, flows, devices and windows
# alone: nDPI and detection off.
echo
echo "Without nDPI and detection (--no-dpi --no-detect): the foundation layer"
printf '\n%-18s %9s %12s %12s %12s %6s %7s %9s %9s\n' capture packets "floor pkt/s" \
	"buf floor" "iotids pkt/s" ratio target "buf ratio" "peak RSS"
report iot-mix "$mix" 0.80 --no-dpi --no-detect
report syn-flood "$flood" 0.30 --no-dpi --no-detect
report syn-flood-quarter "$flood_small" 0.30 --no-dpi --no-detect

# With nDPI (the default) against nDPI's own reader on the same captures.
best_ndpireader() { # file packets -> pps
	local best=0
	for _ in $(seq "$RUNS"); do
		local t0 t1
		t0=$(date +%s.%N)
		ndpiReader -i "$1" -q >/dev/null 2>&1
		t1=$(date +%s.%N)
		best=$(awk -v a="$best" -v n="$2" -v t0="$t0" -v t1="$t1" 'BEGIN{p=n/(t1-t0); print (p>a)?p:a}')
	done
	echo "$best"
}
echo
echo "With nDPI (default), against ndpiReader -q (libndpi-bin) on the same capture"
printf '\n%-18s %9s %14s %14s %7s %8s %9s\n' capture packets "ndpiReader/s" "iotids pkt/s" ratio target "peak RSS"
dpi_report() { # name file packets target
	local name=$1 f=$2 n=$3 target=$4
	local nr pps rss ratio verdict
	nr=$(best_ndpireader "$f" "$n")
	read -r pps rss < <(best_replay "$f" "$n")
	ratio=$(awk -v a="$pps" -v b="$nr" 'BEGIN{printf "%.2f", a/b}')
	verdict=$(awk -v r="$ratio" -v t="$target" 'BEGIN{print (r>=t)?"ok":"MISSED"}')
	printf '%-18s %9d %14.0f %14.0f %7s %8s %5d MiB  %s\n' "$name" "$n" "$nr" "$pps" "$ratio" ">=$target" \
		$((rss / 1024)) "$verdict"
	echo "$rss" >"$DATA/$name-dpi.rss"
}
dpi_report iot-mix "$mix" "$MIX_PACKETS" 1.5
cp "$DATA/last.json" "$DATA/mix-dpi.json"
# Detection's cost: the same capture with profiles and scoring on (every
# device learning, as on a fresh start; and enforcing after 10 minutes)
# against --no-detect, nDPI on in all three.
read -r off _ < <(best_replay "$mix" "$MIX_PACKETS" --no-detect)
read -r learning _ < <(best_replay "$mix" "$MIX_PACKETS")
read -r enforcing _ < <(best_replay "$mix" "$MIX_PACKETS" --learn-for 10m)
echo
echo "Detection on against off (iot-mix, nDPI on): replay time added, target <= 25%"
awk -v off="$off" -v l="$learning" -v e="$enforcing" 'BEGIN{
	lo = (off / l - 1) * 100; en = (off / e - 1) * 100
	printf "  off %.0f pkt/s; learning %.0f pkt/s (%+.1f%% time) %s; enforcing %.0f pkt/s (%+.1f%% time) %s\n",
		off, l, lo, (lo <= 25) ? "ok" : "MISSED", e, en, (en <= 25) ? "ok" : "MISSED" }'

# ndpiReader keeps every flow of a flood (tens of thousands of packets per
# second): the floods are measured with nDPI on for memory only.
read -r _ rss < <(RUNS=1 best_replay "$flood" "$FLOOD_PACKETS")
echo "$rss" >"$DATA/syn-flood-dpi.rss"
cp "$DATA/last.json" "$DATA/flood.json"
read -r _ rss < <(RUNS=1 best_replay "$flood_small" $((FLOOD_PACKETS / 4)))
echo "$rss" >"$DATA/syn-flood-quarter-dpi.rss"

# Memory per tracked flow: the flow table's own accounting at the cap, and
# the growth of the whole process from a run that never fills the table to
# one that does, divided by the cap.
tiny=$(gen synflood 1000)
read -r _ rss_tiny < <(RUNS=1 best_replay "$tiny" 1000)
table_bytes=$(jq '.flows.memory_bytes' "$DATA/flood.json")
peak=$(jq '.flows.peak' "$DATA/flood.json")
evicted=$(jq '.flows.ended.evicted' "$DATA/flood.json")
created=$(jq '.flows.created' "$DATA/flood.json")
rss_full=$(cat "$DATA/syn-flood-dpi.rss")
rss_quarter=$(cat "$DATA/syn-flood-quarter-dpi.rss")
echo
echo "Memory, nDPI on (default settings)"
echo "syn-flood flows: created $created, evicted $evicted, peak $peak tracked at once"
awk -v b="$table_bytes" -v p="$peak" 'BEGIN{printf "flow table bytes per tracked flow: %.0f (target <= 300)\n", b/p}'
awk -v a="$rss_full" -v t="$rss_tiny" -v p="$peak" \
	'BEGIN{printf "process growth per tracked flow:   %.0f bytes (peak RSS %d KiB at the cap, %d KiB with 1000 packets)\n", (a-t)*1024/p, a, t}'
awk -v a="$rss_full" -v q="$rss_quarter" -v n="$FLOOD_PACKETS" \
	'BEGIN{printf "memory once the cap is reached:    %d KiB after %d packets, %d KiB after %d (%+.1f%%)\n", q, n/4, a, n, (a-q)*100/q}'

# The mix with detection over: every flow at the cap has finished nDPI (or
# never needed it), so growth per flow is what a tracked flow costs.
mix_peak=$(jq '.flows.peak' "$DATA/mix-dpi.json")
mix_table=$(jq '.flows.memory_bytes' "$DATA/mix-dpi.json")
under=$(jq '.dpi.peak_under_detection' "$DATA/mix-dpi.json")
rss_mix=$(cat "$DATA/iot-mix-dpi.rss")
awk -v b="$mix_table" -v p="$mix_peak" -v a="$rss_mix" -v t="$rss_tiny" -v u="$under" \
	'BEGIN{printf "iot-mix with nDPI: %d flows tracked at peak (at most %d under detection at once): table %.0f bytes per flow (target <= 300), process growth %.0f bytes per flow (DNS cache and names included)\n", p, u, b/p, (a-t)*1024/p}'

# The profile store: a checkpoint of 10,000 device profiles against plain
# SQLite writing as many rows of the same size, then `profile list` over them.
echo
echo "Profile store (10000 devices)"
"$BUILD/bench/storebench" "$DATA" 10000
best_ms=""
for _ in $(seq "$RUNS"); do
	t0=$(date +%s%N)
	"$IOTIDS" profile list --db "$DATA/store.db" >/dev/null
	ms=$((($(date +%s%N) - t0) / 1000000))
	if [ -z "$best_ms" ] || [ "$ms" -lt "$best_ms" ]; then best_ms=$ms; fi
done
echo "iotids profile list over 10000 devices: $best_ms ms (target <= 200 ms) $([ "$best_ms" -le 200 ] && echo ok || echo MISSED)"
