#!/usr/bin/env bash
# iotids detection evaluation (make eval): every labelled scenario of
# `iotgen scenario` replayed through the detector and matched against its
# ground truth, and a long benign run for the false-alert rate.
#
#   make eval                                  # defaults below
#   EVAL_BENIGN_DAYS=8 make eval               # a shorter benign run
#
# Every capture is replayed twice: without rules, and with $EVAL_RULES
# (default rules/example.yaml: firmware-update allowlists and exceptions,
# docs/rules.md). The second table is the rules run: attacks must still be
# detected, and the firmware-update scenarios (fw-update-*), which alert
# without rules, must give no alert at all with them. A suppressed alert is
# not in the alerts file; the replay's summary counts them per rule.
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
# (one JSON object per line; the rules run's figures in the same objects,
# as alerts_rules, detected_rules, ttd_s_rules, kinds_rules, false_rules,
# false_kinds_rules, suppressed_rules, suppressed_by_rules). Exit status: 0
# whatever the results (this is a report); non-zero only when a tool fails
# or the rules file is invalid. An iotids without rules support (no `iotids
# rules check`) gets the first table only, and a note.
set -euo pipefail

BUILD=${BUILD:-build}
DATA=${EVAL_DATA:-$BUILD/eval}
SEED=${EVAL_SEED:-2026}
DAYS=${EVAL_DAYS:-2}
BENIGN_SEED=${EVAL_BENIGN_SEED:-2026}
BENIGN_DAYS=${EVAL_BENIGN_DAYS:-31}
IOTIDS=${IOTIDS:-./iotids}
RULES=${EVAL_RULES:-rules/example.yaml}
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

# Rules: checked once; a broken rules file is an error, an iotids that
# does not know rules yet is not.
with_rules=1
rules_err=$(mktemp)
trap 'rm -f "$rules_err"' EXIT
if "$IOTIDS" rules check "$RULES" > /dev/null 2> "$rules_err"; then
	:
elif [ $? -eq 1 ] && [ -f "$RULES" ]; then
	echo "eval: $RULES is not valid:" >&2
	cat "$rules_err" >&2
	exit 1
else
	with_rules=0
fi

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
# Suppressed alerts are not written to the file; should one be, it does not
# count.
small_alerts() { # alerts.json -> compact lines
	jq -c 'select(.type == "alert" and .suppressed_by == null)
		| {ts, kind, mac: .device.mac, who: (.device.hostname // .device.mac)}' "$1"
}

replay() { # capture learn_for alerts summary [more iotids options]
	local cap=$1 learn=$2 alerts=$3 summary=$4
	shift 4
	"$IOTIDS" replay --learn-for "$learn" --alerts "$alerts" "$@" "$cap" > "$summary"
}

# The summary's rules line: "rules ... : N update windows, M alerts
# suppressed (name count, ...)" -> {suppressed, suppressed_by}.
suppressed() { # summary.txt -> JSON
	local line
	line=$(grep -m1 '^rules ' "$1" || true)
	jq -n -c --arg l "$line" '
		($l | capture("(?<n>[0-9]+) alerts? suppressed(?: \\((?<by>[^)]*)\\))?") // null) as $m
		| {suppressed: (if $m then ($m.n | tonumber) else null end), suppressed_by: ($m.by // null)}'
}

# Matches one replay's alerts against a scenario's truth (see the top).
score() { # alerts.json truth.json -> one compact object
	small_alerts "$1" |
		jq -s -c --slurpfile truth "$2" --argjson slack "$SLACK_US" "$JQ_US"'
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
					  | map("\(length)x \(.[0].kind)@\(.[0].who)"))}'
}

# One table row from a results line; sfx "" for the run without rules,
# "_rules" for the run with them.
print_row() { # results-line sfx
	local sc att det ttd nal nfa kinds
	IFS=$'\t' read -r sc att det ttd nal nfa kinds < <(jq -r --arg x "$2" '
		def f(k): .[k + $x];
		[.scenario, (if .attack then "yes" else "no" end),
		 (if .attack then (if f("detected") then "yes" else "NO" end) else "-" end),
		 (if f("ttd_s") == null then "-" else f("ttd_s") end),
		 f("alerts"), f("false"),
		 ((f("kinds") | join(",")) + (if f("false") > 0 then " (" + (f("false_kinds") | join(", ")) + ")" else "" end))]
		| map(tostring) | @tsv' <<< "$1")
	[ "$ttd" = - ] || ttd=$(awk -v t="$ttd" 'BEGIN{printf "%.1f s", t}')
	row "$sc" "$att" "$det" "$ttd" "$nal" "$nfa" "${kinds:--}"
}

results=$DATA/results.json
: > "$results"

names=$("$GEN" scenario --list | awk '{print $1}')
[ -n "$names" ] || { echo "eval: iotgen scenario --list printed nothing" >&2; exit 1; }

echo "iotids detection evaluation: seed $SEED, $DAYS days per scenario, captures in $DATA"
echo
row() { printf '%-20s %-7s %-9s %-15s %-7s %-6s %s\n' "$@"; }
header() { row scenario attack? detected "time to detect" alerts false "kinds seen (false alerts: count x kind@device)"; }
header
for name in $names; do
	base=$DATA/$name-s$SEED-d$DAYS
	if [ ! -s "$base.pcap" ] || [ ! -s "$base.truth.json" ]; then
		echo "  generating $base.pcap" >&2
		"$GEN" scenario "$name" --seed "$SEED" --days "$DAYS" -o "$base.pcap.tmp" --truth "$base.truth.json"
		mv "$base.pcap.tmp" "$base.pcap"
	fi
	learn=$(jq -r .learn_for "$base.truth.json")
	replay "$base.pcap" "$learn" "$base.alerts.json" "$base.summary.txt"
	plain=$(score "$base.alerts.json" "$base.truth.json")
	withr=null
	if [ "$with_rules" = 1 ]; then
		replay "$base.pcap" "$learn" "$base.rules.alerts.json" "$base.rules.summary.txt" --rules "$RULES"
		withr=$(jq -c -n --argjson r "$(score "$base.rules.alerts.json" "$base.truth.json")" \
			--argjson s "$(suppressed "$base.rules.summary.txt")" '$r + $s')
	fi
	jq -c -n --argjson p "$plain" --argjson r "$withr" '$p + (if $r == null then {} else
		{alerts_rules: $r.alerts, detected_rules: $r.detected, ttd_s_rules: $r.ttd_s, kinds_rules: $r.kinds,
		 false_rules: $r.false, false_kinds_rules: $r.false_kinds, suppressed_rules: $r.suppressed,
		 suppressed_by_rules: $r.suppressed_by} end)' >> "$results"
	print_row "$(tail -n 1 "$results")" ""
done
jq -s -r '[.[] | select(.attack == false)] as $b | [.[] | select(.attack == true)] as $a
	| "benign scenarios: \([$b[].false] | add) false alerts in \($b | length) scenarios; "
	+ "attack scenarios: \([$a[].false] | add) alerts for other devices or outside the window"' "$results"

if [ "$with_rules" = 1 ]; then
	echo
	echo "with --rules $RULES (the same captures)"
	echo
	header
	while IFS= read -r line; do
		print_row "$line" _rules
	done < "$results"
	jq -s -r '[.[] | select(.attack == false)] as $b | [.[] | select(.attack == true)] as $a
		| "benign scenarios: \([$b[].false_rules] | add) false alerts in \($b | length) scenarios; "
		+ "attack scenarios: \([$a[].false_rules] | add) alerts for other devices or outside the window; "
		+ "\([.[].suppressed_rules // 0] | add) alerts suppressed"' "$results"
else
	echo
	echo "note: $IOTIDS has no rules support (iotids rules check $RULES: $(head -n 1 "$rules_err")); no run with rules"
fi

# The long benign run.
bbase=$DATA/home-s$BENIGN_SEED-${BENIGN_DAYS}d
if [ ! -s "$bbase.pcap" ] || [ ! -s "$bbase.manifest.json" ]; then
	echo "  generating $bbase.pcap ($BENIGN_DAYS days)" >&2
	"$GEN" home --seed "$BENIGN_SEED" --duration "${BENIGN_DAYS}d" -o "$bbase.pcap.tmp" --manifest "$bbase.manifest.json"
	mv "$bbase.pcap.tmp" "$bbase.pcap"
fi
replay "$bbase.pcap" 24h "$bbase.alerts.json" "$bbase.summary.txt"
ndev=$(jq '.devices | length' "$bbase.manifest.json")
benign_score() { # alerts.json -> {false, per_100, false_kinds}
	small_alerts "$1" |
		jq -s -c --argjson ndev "$ndev" --argjson days "$BENIGN_DAYS" '
			{false: length,
			 per_100: (if $days > 1 then length * 100 / ($ndev * ($days - 1)) else null end),
			 false_kinds: (group_by(.kind + "@" + .who) | map("\(length)x \(.[0].kind)@\(.[0].who)"))}'
}
plain=$(benign_score "$bbase.alerts.json")
withr=null
if [ "$with_rules" = 1 ]; then
	replay "$bbase.pcap" 24h "$bbase.rules.alerts.json" "$bbase.rules.summary.txt" --rules "$RULES"
	withr=$(jq -c -n --argjson r "$(benign_score "$bbase.rules.alerts.json")" \
		--argjson s "$(suppressed "$bbase.rules.summary.txt")" '$r + $s')
fi
jq -c -n --argjson p "$plain" --argjson r "$withr" --argjson ndev "$ndev" --argjson days "$BENIGN_DAYS" '
	{benign_run: true, devices: $ndev, days: $days, device_days: ($ndev * ($days - 1))} + $p
	+ (if $r == null then {} else
	   {false_rules: $r.false, per_100_rules: $r.per_100, false_kinds_rules: $r.false_kinds,
	    suppressed_rules: $r.suppressed, suppressed_by_rules: $r.suppressed_by} end)' >> "$results"
echo
tail -n 1 "$results" | jq -r '
	def rate(x): if x == null then "-" else (x * 100 | round / 100 | tostring) end;
	"benign run: iotgen home, \(.days) days, learning the first: \(.days - 1) days x \(.devices) devices = \(.device_days) device-days, "
	+ "\(.false) false alerts = \(rate(.per_100)) per 100 device-days"
	+ (if .false > 0 then " (" + (.false_kinds | join(", ")) + ")" else "" end)
	+ (if has("false_rules") then
	     "\n  with rules: \(.false_rules) false alerts = \(rate(.per_100_rules)) per 100 device-days"
	     + (if .false_rules > 0 then " (" + (.false_kinds_rules | join(", ")) + ")" else "" end)
	     + "; \(.suppressed_rules // 0) alerts suppressed"
	     + (if .suppressed_by_rules then " (" + .suppressed_by_rules + ")" else "" end)
	   else "" end)'

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
	  ["<= \($fmax) false alert per 100 device-days", verdict($b.per_100 > $fmax), "\($b.per_100 * 100 | round / 100)"],
	  (if $b | has("false_rules") then
	     ([$att[] | select(.detected_rules | not) | .scenario]) as $missed_r
	     | ([.[] | select(.scenario // "" | startswith("fw-update-"))]) as $fw
	     | ([$fw[] | select(.alerts == 0 or .alerts_rules > 0)
	         | "\(.scenario) \(.alerts) without, \(.alerts_rules) with"]) as $fw_bad
	     | ["with rules: every attack detected", verdict($missed_r | length > 0), ($missed_r | join(", "))],
	       ["firmware updates: alerts without rules, none with", verdict(($fw | length) == 0 or ($fw_bad | length) > 0),
	        (if ($fw | length) == 0 then "no fw-update scenario" else ($fw_bad | join(", ")) end)],
	       ["with rules: <= \($fmax) false alert per 100 device-days", verdict($b.per_100_rules > $fmax),
	        "\($b.per_100_rules * 100 | round / 100)"]
	   else empty end)
	| @tsv' "$results" | awk -F'\t' '{printf "  %-54s %-6s %s\n", $1, $2, ($3 == "" ? "" : "(" $3 ")")}'
# Kinds the truth expects that the detector never raised in any replay.
jq -s -r '
	([.[] | .kinds[]?] + [.[] | .false_kinds[]? | sub("^[0-9]+x "; "") | sub("@.*$"; "")] | unique) as $seen
	| [.[] | select(.attack == true and (.detected | not) and .expected != null
	                and ([.expected] | inside($seen) | not)) | "\(.scenario): the detector raised no \(.expected) alert at all"]
	| .[] | "note: " + .' "$results"
exit 0
