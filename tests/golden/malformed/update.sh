#!/bin/sh
# Rewrites the expected transcripts of tests/golden/malformed/CASES with
# $IOTIDS_BIN (default ./iotids). Run from the repository root, after
# `iotgen malformed -o pcaps/malformed` if the corpus changed; review the diff.
# A transcript: "exit N", "--- stderr", stderr, "--- stdout", stdout.
set -u
bin=${IOTIDS_BIN:-./iotids}
dir=tests/golden/malformed
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
grep -v '^#' "$dir/CASES" | while IFS='	' read -r out args; do
	[ -n "$out" ] || continue
	echo "  GOLDEN  $dir/$out"
	# Word splitting of $args is the point: it holds the arguments.
	# shellcheck disable=SC2086
	TZ=UTC "$bin" $args >"$tmp/out" 2>"$tmp/err"
	rc=$?
	{
		printf 'exit %d\n--- stderr\n' "$rc"
		cat "$tmp/err"
		printf -- '--- stdout\n'
		cat "$tmp/out"
	} >"$dir/$out"
done
