#!/usr/bin/env bash
# Line coverage of the code each harness is for, from the corpus the fuzz
# runs grew ($FUZZ_BUILD/corpus) and the seeds: every input is run once
# through a coverage build ($COV_BUILD) and llvm-cov reports per file.
#   usage: coverage.sh HARNESS...
set -euo pipefail
cd "$(dirname "$0")/../.."
fuzz=${FUZZ_BUILD:-build-fuzz}
cov=${COV_BUILD:-build-fuzzcov}
mkdir -p "$cov/profiles"
# The files each harness exists to cover.
declare -A target=(
	[fuzz_decode]="features/decode.c" [fuzz_dns]="features/dns.c features/text.c"
	[fuzz_dhcp]="features/dhcp.c" [fuzz_ssdp]="features/ssdp.c" [fuzz_dpi]="features/dpi.c"
	[fuzz_pcap]="capture/cap_file.c features/tracker.c features/flow.c features/device.c features/window.c detector/detector.c"
	[fuzz_rules]="rules/rules.c" [fuzz_mud]="rules/mud.c" [fuzz_config]="cli/config.c" [fuzz_alert_json]="cli/output.c"
)
for name in "$@"; do
	bin=$cov/fuzz/$name prof=$cov/profiles/$name
	rm -f "$prof".*
	dirs=(tests/fuzz/corpus/"$name")
	[ -d "$fuzz/corpus/$name" ] && dirs+=("$fuzz/corpus/$name")
	LLVM_PROFILE_FILE="$prof.%p.profraw" "$bin" -runs=0 "${dirs[@]}" >/dev/null 2>&1
	llvm-profdata merge -sparse "$prof".*.profraw -o "$prof.profdata"
	llvm-cov report "$bin" -instr-profile="$prof.profdata" ${target[$name]} |
		awk -v h="$name" 'NR > 2 && $1 != "TOTAL" && NF > 9 { printf "%-16s %-26s lines %6s of %5s  %s\n", h, $1, $8 - $9, $8, $10 }'
done
