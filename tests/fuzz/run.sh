#!/usr/bin/env bash
# Runs libFuzzer harnesses: first every regression input once (inputs that
# once made a harness fail), then each harness for SECONDS from its seed
# corpus. New inputs go to $FUZZ_BUILD/corpus (the committed seeds are only
# read), anything found to $FUZZ_BUILD/findings. Prints one line per harness:
# executions, coverage (edges), features, corpus size, peak RSS.
#   usage: run.sh SECONDS HARNESS...   (FUZZ_BUILD, FUZZ_JOBS, FUZZ_TIMEOUT in the environment;
#   the timeout is wall time, long for a loaded machine)
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=$1
shift
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-2}
mkdir -p "$build/logs" "$build/findings"

run_one() {
	local name=$1 secs=$2 build=$3
	local bin=$build/fuzz/$name seeds=tests/fuzz/corpus/$name work=$build/corpus/$name
	local log=$build/logs/$name.log opts=(-timeout=${FUZZ_TIMEOUT:-30} -rss_limit_mb=1024 -print_final_stats=1)
	mkdir -p "$work" "$seeds"
	case $name in
	fuzz_pcap) opts+=(-max_len=65536) ;;
	fuzz_rules | fuzz_mud | fuzz_config) opts+=(-max_len=16384) ;;
	esac
	[ -f "tests/fuzz/$name.dict" ] && opts+=("-dict=tests/fuzz/$name.dict")
	if compgen -G "tests/fuzz/regress/$name/*" >/dev/null; then
		if ! "$bin" "${opts[@]}" tests/fuzz/regress/"$name"/* >"$log.regress" 2>&1; then
			echo "$name: FAIL on a regression input (log: $log.regress)"
			tail -n 30 "$log.regress"
			return 1
		fi
	fi
	if ! "$bin" "${opts[@]}" -max_total_time="$secs" -artifact_prefix="$build/findings/$name-" \
		"$work" "$seeds" >"$log" 2>&1; then
		echo "$name: FAIL (log: $log, input in $build/findings)"
		grep -E 'ERROR|check failed|SUMMARY' "$log" | head -n 10
		return 1
	fi
	local execs cov ft corp rss
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
	rss=$(sed -n 's/^stat::peak_rss_mb: *//p' "$log" | tail -n 1)
	cov=$(grep -oE 'cov: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	ft=$(grep -oE 'ft: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	corp=$(grep -oE 'corp: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	printf '%-16s %6ss %12s execs  cov %6s  ft %7s  corpus %6s  rss %5s MiB  ok\n' "$name" "$secs" \
		"${execs:-?}" "${cov:-?}" "${ft:-?}" "${corp:-?}" "${rss:-?}"
}
export -f run_one

printf '%s\n' "$@" | xargs -P "$jobs" -I{} bash -c 'run_one "$1" "$2" "$3"' _ {} "$secs" "$build"
