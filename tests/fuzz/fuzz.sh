#!/bin/bash
# Runs libFuzzer targets one after the other (make fuzz calls this).
#
# usage: tests/fuzz/fuzz.sh FUZZ_BUILD SECONDS NAME...
#
# Each FUZZ_BUILD/fuzz/fuzz_NAME runs for SECONDS on tests/fuzz/corpus/NAME/
# (with tests/fuzz/NAME.dict when there is one), writing what it finds to a
# scratch directory.  Then the corpus is minimized with libFuzzer's
# -merge=1: its named files (seeds, inputs of past crashes) stay, and of the
# inputs found, in this run or before, only as many as reach edges those do
# not.  A crash leaves its input in FUZZ_BUILD/fuzz/artifacts/NAME/ and
# fails the run.  The log of each target is FUZZ_BUILD/fuzz/logs/NAME.log,
# and a table of the figures goes to the terminal and to
# FUZZ_BUILD/fuzz/summary.md.

set -u
if [ $# -lt 3 ]; then
	echo "usage: $0 FUZZ_BUILD SECONDS NAME..." >&2
	exit 2
fi
build=$1 secs=$2
shift 2
cd "$(dirname "$0")/../.." || exit 1

out=$build/fuzz
mkdir -p "$out/logs" "$out/work" "$out/artifacts"
summary=$out/summary.md
{
	echo "| target | exec/s | cov | ft | corpus files | corpus KiB | seconds | result |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|"
} > "$summary"
failed=0

for name in "$@"; do
	bin=$out/fuzz_$name
	corpus=tests/fuzz/corpus/$name
	work=$out/work/$name
	art=$out/artifacts/$name
	log=$out/logs/$name.log
	if [ ! -x "$bin" ]; then
		echo "fuzz: $bin is missing (make fuzz builds it)" >&2
		failed=1
		continue
	fi
	rm -rf "$art"
	mkdir -p "$corpus" "$art"
	rm -rf "$work"
	mkdir -p "$work"
	dict=()
	[ -f "tests/fuzz/$name.dict" ] && dict=(-dict="tests/fuzz/$name.dict")

	echo "== fuzz_$name: $secs s"
	start=$(date +%s)
	# -close_fd_mask=2: the target's own stderr (log lines) goes nowhere;
	# libFuzzer's output and sanitizer reports still come out.
	"$bin" -max_total_time="$secs" -print_final_stats=1 -timeout=25 \
	    -close_fd_mask=2 -artifact_prefix="$art/" "${dict[@]}" \
	    "$work" "$corpus" > "$log" 2>&1
	rc=$?
	end=$(date +%s)
	# The corpus again, minimized: the named files (seeds and the inputs
	# of past crashes) whatever they reach, then the fewest of the found
	# ones (named by their SHA-1), old and new, that reach more edges.
	# Edges, not hit counts (-use_counters=0): that keeps it to a few
	# hundred files, and a run finds the counts again in seconds.
	merged=$out/merged/$name found=$out/found/$name
	rm -rf "$merged" "$found"
	mkdir -p "$merged" "$found"
	find "$corpus" -maxdepth 1 -type f ! -regex '.*/[0-9a-f]\{40\}' \
	    -exec cp {} "$merged"/ \;
	find "$corpus" -maxdepth 1 -type f -regex '.*/[0-9a-f]\{40\}' \
	    -exec cp {} "$found"/ \;
	if "$bin" -merge=1 -use_counters=0 -close_fd_mask=2 "$merged" \
	    "$found" "$work" >> "$log" 2>&1; then
		find "$corpus" -maxdepth 1 -type f -delete
		cp "$merged"/* "$corpus"/
	else
		echo "fuzz: merging into $corpus failed; it is left as it was" >&2
		rc=1
	fi

	execs=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
	done_line=$(grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1)
	[ -n "$done_line" ] || done_line=$(grep -E '^#[0-9]+[[:space:]]+(pulse|NEW|REDUCE|INITED)' "$log" | tail -1)
	cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<< "$done_line")
	ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$done_line")
	files=$(find "$corpus" -type f | wc -l)
	kib=$(( ($(cat "$corpus"/* | wc -c) + 1023) / 1024 ))
	if [ "$rc" -eq 0 ]; then
		result=ok
	else
		result="FAILED (exit $rc): $(ls "$art" | head -3 | tr '\n' ' ')"
		failed=1
	fi
	line="| $name | ${execs:-?} | ${cov:-?} | ${ft:-?} | $files | $kib | $((end - start)) | $result |"
	echo "$line" >> "$summary"
	echo "   $result: ${execs:-?} exec/s, cov ${cov:-?}, ft ${ft:-?}, $files files in the corpus"
done

echo
cat "$summary"
exit "$failed"
