#!/bin/bash
# Runs every test and ends with one summary line: "N passed, N failed, N skipped".
# Unit tests are cmocka programs (their TAP output is counted case by case);
# integration tests are scripts in tests/integration/ that print TAP-style
# "ok - name", "not ok - name" or "ok - name # SKIP reason" lines.
#
# usage: tests/run.sh [BUILD_DIR] [TEST...]   (default: every test)

set -u
BUILD=${1:-build}
shift || true
cd "$(dirname "$0")/.." || exit 1

pass=0 fail=0 skip=0
failed_names=()

# Reads TAP-ish lines on stdin, echoes them, and counts them.
count() {
	local suite=$1 line n=0
	while IFS= read -r line; do
		case $line in
		"not ok"*)
			fail=$((fail + 1)); n=$((n + 1))
			failed_names+=("$suite: ${line#not ok }")
			echo "  FAIL $suite: ${line#not ok }" ;;
		"ok"*"# SKIP"*|"ok"*"# skip"*)
			skip=$((skip + 1)); n=$((n + 1))
			echo "  skip $suite: ${line#ok }" ;;
		"ok"*)
			pass=$((pass + 1)); n=$((n + 1))
			echo "  ok   $suite: ${line#ok }" ;;
		*)
			echo "       $line" ;;
		esac
	done
	echo "$n" > "$tmp/count"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

run_one() {
	local name=$1; shift
	local rc
	echo "== $name"
	"$@" > "$tmp/out" 2>&1
	rc=$?
	count "$name" < "$tmp/out"
	# A test that died without saying which case failed still fails.
	if [ "$rc" -ne 0 ] && ! grep -q '^not ok' "$tmp/out"; then
		fail=$((fail + 1))
		failed_names+=("$name: exited with status $rc")
		echo "  FAIL $name: exited with status $rc"
	fi
}

selected() {
	[ ${#SELECT[@]} -eq 0 ] && return 0
	local want
	for want in "${SELECT[@]}"; do
		[[ $1 == *"$want"* ]] && return 0
	done
	return 1
}
SELECT=("$@")

for t in "$BUILD"/tests/test_*; do
	[ -x "$t" ] && [[ $t != *.d ]] || continue
	selected "$t" || continue
	CMOCKA_MESSAGE_OUTPUT=TAP run_one "unit/$(basename "$t")" "$t"
done
# The same unit tests built with sanitizers (make check sets SAN_BUILD).
if [ -n "${SAN_BUILD:-}" ]; then
	for t in "$SAN_BUILD"/tests/test_*; do
		[ -x "$t" ] && [[ $t != *.d ]] || continue
		selected "$t" || continue
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		CMOCKA_MESSAGE_OUTPUT=TAP run_one "unit-asan/$(basename "$t")" "$t"
	done
fi
for t in tests/integration/test_*.sh; do
	selected "$t" || continue
	PORTKEEPER="$BUILD/portkeeper" run_one "integration/$(basename "$t" .sh)" "$t"
done
# The integration tests again with the sanitized programs.  Their reports
# go to files (a daemon's stderr is a log the test throws away), and any
# report fails the test that caused it.  Not: the network's self-tests and
# the packages (no program of $SAN_BUILD runs), valgrind (it cannot run a
# sanitized program), and the scale test (ASan's slowdown is not a finding).
SAN_SKIP=${SAN_SKIP:-"test_homenet test_homenet6 test_package test_arm test_valgrind test_scale"}
if [ -n "${SAN_BUILD:-}" ] && [ -x "$SAN_BUILD/portkeeperd" ]; then
	mkdir -p "$tmp/san"
	for t in tests/integration/test_*.sh; do
		selected "$t" || continue
		[[ " $SAN_SKIP " == *" $(basename "$t" .sh) "* ]] && continue
		name="integration-asan/$(basename "$t" .sh)"
		rm -f "$tmp"/san/*
		ASAN_OPTIONS=detect_leaks=1:log_path=$tmp/san/asan \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$tmp/san/ubsan \
		PORTKEEPER="$SAN_BUILD/portkeeper" run_one "$name" "$t"
		for r in "$tmp"/san/*; do
			[ -e "$r" ] || continue
			fail=$((fail + 1))
			failed_names+=("$name: sanitizer report $(basename "$r")")
			echo "  FAIL $name: sanitizer report:"
			head -30 "$r" | sed 's/^/       /'
		done
	done
fi

if [ ${#failed_names[@]} -gt 0 ]; then
	echo
	echo "Failed:"
	printf '  %s\n' "${failed_names[@]}"
fi
echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
