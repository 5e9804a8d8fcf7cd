#!/usr/bin/env bash
# iotids under hostile traffic: the demo home with, over its enforcement
# hour, one of three floods (iotgen hostile), each replayed with the demo's
# usual flags and default settings. Checks that the run completes, that the
# peak RSS stays within its bound, that the counters of the tables the
# attack aims at rise, and that the real devices (those of the clean demo)
# keep every alert of the clean run (same kind, device and subject) and
# their learned profiles, byte for byte.
#
#   make bench-hostile
#   SPOOF_PACKETS=1000000 DNS_RESPONSES=100000 NAMES=100000 make bench-hostile   # quicker
#
# Captures are generated once into $BENCH_DATA (default build/bench-data)
# and reused; delete them to regenerate. Exits 1 when a check fails.
set -euo pipefail

BUILD=${BUILD:-build}
DATA=${BENCH_DATA:-$BUILD/bench-data}
IOTIDS=${IOTIDS:-./iotids}
GEN=${IOTGEN:-$BUILD/iotgen}
BASE=${BASE:-pcaps/demo.pcap}
SEED=${SEED:-2026}
SPOOF_PACKETS=${SPOOF_PACKETS:-10000000}
DNS_RESPONSES=${DNS_RESPONSES:-1000000}
NAMES=${NAMES:-1000000}
RSS_MAX_MIB=${RSS_MAX_MIB:-256}
# The demo's flags (Makefile, target demo), and nothing else: default caps.
FLAGS=(--learn-for 2h --rules rules/example.yaml)

mkdir -p "$DATA"
OUT=$(mktemp -d "${TMPDIR:-/tmp}/iotids-hostile-XXXXXX")
trap 'rm -rf "$OUT"' EXIT

gen() { # attack count -> path
	local f="$DATA/hostile-$1-$2.pcap"
	if [ ! -s "$f" ]; then
		echo "generating $f" >&2
		"$GEN" hostile --attack "$1" --count "$2" --seed "$SEED" --base "$BASE" -o "$f.tmp" >&2
		mv "$f.tmp" "$f"
	fi
	echo "$f"
}

# Replays a capture twice: once timed, with the summary (JSON) and the
# alerts kept, once for the learned profiles. Leaves NAME.{summary,alerts,
# profiles,time,rc} in $OUT.
replay() { # name capture
	local name=$1 f=$2 rc=0
	/usr/bin/time -o "$OUT/$name.time" -f '%M %e' \
		"$IOTIDS" replay "${FLAGS[@]}" --alerts "$OUT/$name.alerts" --json "$f" \
		>"$OUT/$name.summary" 2>"$OUT/$name.err" || rc=$?
	echo "$rc" >"$OUT/$name.rc"
	"$IOTIDS" replay "${FLAGS[@]}" --alerts /dev/null --profiles --json "$f" >"$OUT/$name.profiles" 2>>"$OUT/$name.err" ||
		echo 1 >"$OUT/$name.rc"
}

# "kind<TAB>mac<TAB>about" of each alert, sorted, distinct.
alert_keys() {
	jq -r '[.kind, (.device.mac // (.device.ips[0] // "")), .about] | @tsv' "$1" | LC_ALL=C sort -u
}

# "mac<TAB>profile" of each profile (one line of JSON): comparable as text.
profile_lines() {
	jq -r '"\(.device)\t\(tojson)"' "$1" | LC_ALL=C sort
}

echo "clean demo: $BASE"
replay clean "$BASE"
[ "$(cat "$OUT/clean.rc")" = 0 ] || { echo "FAIL: the clean replay failed: $(cat "$OUT/clean.err")"; exit 1; }
alert_keys "$OUT/clean.alerts" >"$OUT/clean.keys"
profile_lines "$OUT/clean.profiles" >"$OUT/clean.plines"
cut -f1 "$OUT/clean.plines" >"$OUT/real.macs"
echo "  $(wc -l <"$OUT/real.macs") real devices, $(wc -l <"$OUT/clean.keys") distinct alerts"

declare -A COUNT=([spoof]=$SPOOF_PACKETS [dnsflood]=$DNS_RESPONSES [names]=$NAMES)
# The counters each attack must raise (fields of the table below).
declare -A MUST=([spoof]="flows_evicted devices_evicted" [dnsflood]="devices_evicted dns_evicted"
	[names]="flows_evicted dns_evicted")
FAILS=0
ROWS=()
CHECKS=()

check() { # ok? message
	if [ "$1" = 1 ]; then CHECKS+=("  ok    $2"); else CHECKS+=("  FAIL  $2"); FAILS=$((FAILS + 1)); fi
}

for attack in spoof dnsflood names; do
	f=$(gen "$attack" "${COUNT[$attack]}")
	echo "replaying $f" >&2
	replay "$attack" "$f"
	rc=$(cat "$OUT/$attack.rc")
	# The last line: time writes "Command exited with non-zero status" first.
	read -r rss_kib secs < <(tail -n 1 "$OUT/$attack.time") || { rss_kib=0; secs=0; }
	rss_mib=$((rss_kib / 1024))
	declare -A v=()
	if [ "$rc" = 0 ]; then
		eval "$(jq -r '"packets=\(.packets) flows_evicted=\(.flows.ended.evicted) devices_evicted=\(.devices.evicted) names_dropped=\(.names.refused) dns_evicted=\(.names.dns_cache_evicted)"' "$OUT/$attack.summary")"
	else
		packets=0 flows_evicted=0 devices_evicted=0 names_dropped=0 dns_evicted=0
	fi
	v=([flows_evicted]=$flows_evicted [devices_evicted]=$devices_evicted [dns_evicted]=$dns_evicted)
	ROWS+=("$(printf '%-10s %10s %8s %8s %12s %12s %12s %12s' "$attack" "$packets" "$rss_mib" "$secs" \
		"$flows_evicted" "$devices_evicted" "$names_dropped" "$dns_evicted")")

	check "$([ "$rc" = 0 ] && echo 1)" "$attack: the replay completes (exit $rc)"
	check "$([ "$rss_mib" -le "$RSS_MAX_MIB" ] && echo 1)" "$attack: peak RSS $rss_mib MiB <= $RSS_MAX_MIB MiB"
	for c in ${MUST[$attack]}; do
		check "$([ "${v[$c]}" -gt 0 ] && echo 1)" "$attack: $c > 0 (${v[$c]})"
	done
	alert_keys "$OUT/$attack.alerts" 2>/dev/null >"$OUT/$attack.keys" || : >"$OUT/$attack.keys"
	missing=$(LC_ALL=C comm -23 "$OUT/clean.keys" "$OUT/$attack.keys" | wc -l)
	check "$([ "$missing" = 0 ] && echo 1)" \
		"$attack: every alert of the clean run is raised again ($missing of $(wc -l <"$OUT/clean.keys") missing)"
	while IFS= read -r l; do
		CHECKS+=("          missing: $l")
	done < <(LC_ALL=C comm -23 "$OUT/clean.keys" "$OUT/$attack.keys" | head -5)
	profile_lines "$OUT/$attack.profiles" 2>/dev/null | LC_ALL=C join -t "$(printf '\t')" - "$OUT/real.macs" \
		>"$OUT/$attack.plines" || :
	changed=$(LC_ALL=C comm -23 "$OUT/clean.plines" "$OUT/$attack.plines" | cut -f1 | tr '\n' ' ')
	check "$([ -z "$changed" ] && echo 1)" \
		"$attack: every real device's learned profile is unchanged${changed:+ (changed or lost: $changed)}"
done

echo
echo "iotids replay ${FLAGS[*]} (default settings); peak RSS target <= $RSS_MAX_MIB MiB"
printf '%-10s %10s %8s %8s %12s %12s %12s %12s\n' capture packets "RSS MiB" seconds "flows evict" \
	"devs evict" "names drop" "dns evict"
printf '%s\n' "${ROWS[@]}"
echo
printf '%s\n' "${CHECKS[@]}"
echo
if [ "$FAILS" -gt 0 ]; then
	echo "$FAILS check(s) failed"
	exit 1
fi
echo "all checks passed"
