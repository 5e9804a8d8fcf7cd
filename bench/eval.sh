#!/usr/bin/env bash
# iotids detection evaluation (make eval): every labelled scenario of
# `iotgen scenario` replayed through the detector and matched against its
# ground truth, and a long benign run for the false-alert rate.
#
#   make eval                                  # defaults below
#   EVAL_BENIGN_DAYS=8 make eval               # a shorter benign run
#
# Matching: an attack is detected when at least one alert for the truth's
# device has its ts in [start, end + 60 s] (whatever its kind; the kinds
# seen are printed); time to detect is the first such alert's ts - start.
# A benign behaviour may expect a notice (new-device: new_device for the
# device that joined), matched the same way but of that kind only.
# Every other alert is false: any other alert of a benign scenario, and
# alerts for other devices or outside the window in an attack scenario. The
# benign run (`iotgen home`, learning the first day) gives false alerts
# per 100 device-days: devices (from its manifest) x enforced days.
#
# Captures are generated once into $EVAL_DATA (default build/eval) and
# reused until the generator binary changes; the replays always run, so a
# new detector is measured at once. Results also go to $EVAL_DATA/results.json
# (one JSON object per line). Exit status: 0 whatever the results (this is
# a report); non-zero only when a tool fails.
set -euo pipefail

BUILD=${BUILD:-build}
DATA=${EVAL_DATA:-$BUILD/eval}
SEED=${EVAL_SEED:-2026}
DAYS=${EVAL_DAYS:-2}
BENIGN_SEED=${EVAL_BENIGN_SEED:-2026}
BENIGN_DAYS=${EVAL_BENIGN_DAYS:-31}
IOTIDS=${IOTIDS:-./iotids}
GEN=$BUILD/iotgen
SLACK_US=60000000 # an alert up to 60 s after the end still counts
TTD_TARGET_S=60
FALSE_TARGET=1    # per 100 device-days

for tool in jq sha256sum; do
	command -v "$tool" >/dev/null || { echo "eval: $tool is missing (make deps)" >&2; exit 1; }
done
if [ ! -x "$GEN" ] || [ ! -x "$IOTIDS" ]; then
	echo "eval: build first ($GEN, $IOTIDS)" >&2
	exit 1
fi
mkdir -p "$DATA"

# Captures are only as good as the generator that wrote them.
stamp=$(sha256sum "$GEN" | cut -c1-16)
if [ "$(cat "$DATA/.generator" 2>/dev/null || true)" != "$stamp" ]; then
	rm -f "$DATA"/*.pcap "$DATA"/*.truth.json "$DATA"/*.manifest.json
	echo "$stamp" > "$DATA/.generator"
fi

# RFC 3339 UTC with optional fraction -> microseconds since the epoch.
JQ_US='def us: capture("^(?<s>[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2})(?<f>\\.[0-9]+)?Z$")
	| ((.s + "Z") | fromdateiso8601) * 1000000 + ((((.f // ".")[1:]) + "000000")[0:6] | tonumber);'

# The alerts of one replay, cut down to what matching needs (a flood can
# raise tens of thousands; slurping them whole would take gigabytes).
small_alerts() { # alerts.json -> compact lines
	jq -c 'select(.type == "alert") | {ts, kind, mac: .device.mac, who: (.device.hostname // .device.mac)}' "$1"
}

replay() { # capture learn_for alerts summary
	"$IOTIDS" replay --learn-for "$2" --alerts "$3" "$1" > "$4"
}

results=$DATA/results.json
: > "$results"

names=$("$GEN" scenario --list | awk '{print $1}')
[ -n "$names" ] || { echo "eval: iotgen scenario --list printed nothing" >&2; exit 1; }

echo "iotids detection evaluation: seed $SEED, $DAYS days per scenario, captures in $DATA"
echo
row() { printf '%-15s %-7s %-9s %-15s %-7s %-6s %s\n' "$@"; }
row scenario attack? detected "time to detect" alerts false "kinds seen (false alerts: count x kind@device)"
for name in $names; do
	base=$DATA/$name-s$SEED-d$DAYS
	if [ ! -s "$base.pcap" ] || [ ! -s "$base.truth.json" ]; then
		echo "  generating $base.pcap" >&2
		"$GEN" scenario "$name" --seed "$SEED" --days "$DAYS" -o "$base.pcap.tmp" --truth "$base.truth.json"
		mv "$base.pcap.tmp" "$base.pcap"
	fi
	learn=$(jq -r .learn_for "$base.truth.json")
	replay "$base.pcap" "$learn" "$base.alerts.json" "$base.summary.txt"
	small_alerts "$base.alerts.json" |
		jq -s -c --slurpfile truth "$base.truth.json" --argjson slack "$SLACK_US" "$JQ_US"'
			$truth[0] as $t
			| ($t.start | us) as $s | ($t.end | us) as $e
			| def hit: ($t.attack or (.kind == $t.kind)) and .mac == $t.device
				   and ((.ts | us) as $u | $u >= $s and $u <= $e + $slack);
			  [.[] | select(hit)] as $hit
			| [.[] | select(hit | not)] as $fa
			| {scenario: $t.scenario, attack: $t.attack, device: $t.device, expected: $t.kind,
			   start: $t.start, end: $t.end, alerts: length,
			   detected: (if $t.attack then ($hit | length) > 0 else null end),
			   ttd_s: (if ($hit | length) > 0 then (([$hit[].ts | us] | min) - $s) / 1000000 else null end),
			   kinds: ([$hit[].kind] | unique),
			   false: ($fa | length),
			   false_kinds: ($fa | group_by(.kind + "@" + .who)
					  | map("\(length)x \(.[0].kind)@\(.[0].who)"))}' >> "$results"
	IFS=$'\t' read -r sc att det ttd nal nfa kinds < <(tail -n 1 "$results" | jq -r '
		[.scenario, (if .attack then "yes" else "no" end),
		 (if .attack then (if .detected then "yes" else "NO" end) else "-" end),
		 (if .ttd_s == null then "-" else .ttd_s end),
		 .alerts, .false,
		 ((.kinds | join(",")) + (if .false > 0 then " (" + (.false_kinds | join(", ")) + ")" else "" end))]
		| map(tostring) | @tsv')
	[ "$ttd" = - ] || ttd=$(awk -v t="$ttd" 'BEGIN{printf "%.1f s", t}')
	row "$sc" "$att" "$det" "$ttd" "$nal" "$nfa" "${kinds:--}"
done
jq -s -r '[.[] | select(.attack == false)] as $b | [.[] | select(.attack == true)] as $a
	| "benign scenarios: \([$b[].false] | add) false alerts in \($b | length) scenarios; "
	+ "attack scenarios: \([$a[].false] | add) alerts for other devices or outside the window"' "$results"

# The long benign run.
bbase=$DATA/home-s$BENIGN_SEED-${BENIGN_DAYS}d
if [ ! -s "$bbase.pcap" ] || [ ! -s "$bbase.manifest.json" ]; then
	echo "  generating $bbase.pcap ($BENIGN_DAYS days)" >&2
	"$GEN" home --seed "$BENIGN_SEED" --duration "${BENIGN_DAYS}d" -o "$bbase.pcap.tmp" --manifest "$bbase.manifest.json"
	mv "$bbase.pcap.tmp" "$bbase.pcap"
fi
replay "$bbase.pcap" 24h "$bbase.alerts.json" "$bbase.summary.txt"
ndev=$(jq '.devices | length' "$bbase.manifest.json")
small_alerts "$bbase.alerts.json" |
	jq -s -c --argjson ndev "$ndev" --argjson days "$BENIGN_DAYS" '
		{benign_run: true, devices: $ndev, days: $days, device_days: ($ndev * ($days - 1)),
		 false: length,
		 per_100: (if $days > 1 then length * 100 / ($ndev * ($days - 1)) else null end),
		 false_kinds: (group_by(.kind + "@" + .who) | map("\(length)x \(.[0].kind)@\(.[0].who)"))}' >> "$results"
echo
tail -n 1 "$results" | jq -r '
	"benign run: iotgen home, \(.days) days, learning the first: \(.days - 1) days x \(.devices) devices = \(.device_days) device-days, "
	+ "\(.false) false alerts = \(.per_100 * 100 | round / 100) per 100 device-days"
	+ (if .false > 0 then " (" + (.false_kinds | join(", ")) + ")" else "" end)'

# Targets.
echo
echo "targets"
jq -s -r --argjson ttd "$TTD_TARGET_S" --argjson fmax "$FALSE_TARGET" '
	[.[] | select(.attack == true)] as $att
	| ([$att[] | select(.detected | not) | .scenario]) as $missed
	| ([$att[] | select(.scenario != "silent" and (.ttd_s == null or .ttd_s > $ttd))
	    | "\(.scenario) \(if .ttd_s == null then "undetected" else "\(.ttd_s | round) s" end)"]) as $slow
	| (.[] | select(.benign_run == true)) as $b
	| def verdict(bad): if bad then "MISSED" else "ok" end;
	  ["every attack detected", verdict($missed | length > 0), ($missed | join(", "))],
	  ["time to detect <= \($ttd) s (all but silent)", verdict($slow | length > 0), ($slow | join(", "))],
	  ["<= \($fmax) false alert per 100 device-days", verdict($b.per_100 > $fmax), "\($b.per_100 * 100 | round / 100)"]
	| @tsv' "$results" | awk -F'\t' '{printf "  %-42s %-6s %s\n", $1, $2, ($3 == "" ? "" : "(" $3 ")")}'
# Kinds the truth expects that the detector never raised in any replay.
jq -s -r '
	([.[] | .kinds[]?] + [.[] | .false_kinds[]? | sub("^[0-9]+x "; "") | sub("@.*$"; "")] | unique) as $seen
	| [.[] | select(.attack == true and (.detected | not) and .expected != null
	                and ([.expected] | inside($seen) | not)) | "\(.scenario): the detector raised no \(.expected) alert at all"]
	| .[] | "note: " + .' "$results"
exit 0
