#!/bin/bash
# Install what is missing, build, and run every roost test: the unit tests
# (make check, cmocka) and the integration tests (pytest, against real
# Postfix, Dovecot's client tools, ...). Run as root on Debian 12.
#
#   scripts/test.sh                build in ./build, run everything
#   scripts/test.sh --sanitizers   the same in ./build-san with ASan+UBSan
#
# The last line is "total: N passed, N failed"; the exit code is non-zero
# if anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)

builddir=build
configure_args=(--enable-werror)
if [ "${1:-}" = "--sanitizers" ]; then
	builddir=build-san
	configure_args+=(--enable-sanitizers)
fi

scripts/install-deps.sh --test || { echo "install-deps failed"; echo "total: 0 passed, 1 failed"; exit 1; }
# Exim (exim4-daemon-heavy) conflicts with Postfix in Debian: its binary is
# unpacked under /opt for tests/test_exim.py
if [ "$(id -u)" = 0 ]; then
	tests/install-exim.sh >/dev/null || { echo "install-exim failed"; echo "total: 0 passed, 1 failed"; exit 1; }
fi

fail() { echo "$*"; echo "total: 0 passed, 1 failed"; exit 1; }

# ---- build ------------------------------------------------------------
if [ ! -x configure ] || [ configure.ac -nt configure ] || \
   [ -n "$(find . -name Makefile.inc -newer configure -not -path './build*' 2>/dev/null)" ] || \
   [ Makefile.am -nt configure ]; then
	autoreconf -fi >/dev/null 2>autoreconf.err || { cat autoreconf.err; fail "autoreconf failed"; }
	rm -f autoreconf.err
fi
mkdir -p "$builddir"
cd "$builddir"
if [ ! -f Makefile ] || [ ../configure -nt Makefile ]; then
	../configure "${configure_args[@]}" >configure.out 2>&1 || { cat configure.out; fail "configure failed"; }
fi
make -j"$(nproc)" >make.out 2>&1 || { tail -60 make.out; fail "build failed"; }

# ---- unit tests ---------------------------------------------------------
unit_pass=0; unit_fail=0
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0"
export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
if make -j"$(nproc)" check >check.out 2>&1; then :; fi
if [ -f test-suite.log ]; then
	unit_pass=$(sed -n 's/^# PASS: *//p' test-suite.log | head -1)
	unit_fail=$(( $(sed -n 's/^# FAIL: *//p' test-suite.log | head -1) + \
		      $(sed -n 's/^# ERROR: *//p' test-suite.log | head -1) ))
	grep -E '^(PASS|FAIL|ERROR|SKIP):' check.out
	[ "$unit_fail" -eq 0 ] || cat test-suite.log | tail -80
else
	tail -40 check.out
	unit_fail=1
fi
echo "unit tests: ${unit_pass:-0} passed, ${unit_fail} failed"
cd "$ROOT"

# ---- integration tests --------------------------------------------------
sanlog=$(mktemp -d /tmp/roost-san.XXXXXX)
if [ "$builddir" = build-san ]; then
	export ASAN_OPTIONS="detect_leaks=1:quarantine_size_mb=64:log_path=$sanlog/asan"
	export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$sanlog/ubsan"
	export LSAN_OPTIONS="suppressions=$ROOT/scripts/lsan.supp:print_suppressions=0"
else
	unset ASAN_OPTIONS UBSAN_OPTIONS LSAN_OPTIONS
fi
export ROOST_BUILD_DIR="$ROOT/$builddir"
it_out=$(mktemp /tmp/roost-pytest.XXXXXX)
/usr/bin/python3 -m pytest -q -p no:cacheprovider tests/ 2>&1 | tee "$it_out"
summary=$(grep -E '^(=+ )?[0-9]+ (passed|failed)|^=+ .*(passed|failed|error)' "$it_out" | tail -1)
it_pass=$(grep -oE '[0-9]+ passed' <<<"$summary" | grep -oE '[0-9]+' || echo 0)
it_fail=$(( $(grep -oE '[0-9]+ failed' <<<"$summary" | grep -oE '[0-9]+' || echo 0) + \
	    $(grep -oE '[0-9]+ error' <<<"$summary" | grep -oE '[0-9]+' || echo 0) ))
[ -n "$summary" ] || it_fail=$((it_fail + 1))
rm -f "$it_out"

san_reports=0
if ls "$sanlog"/* >/dev/null 2>&1; then
	echo "---- sanitizer reports from the integration run:"
	for f in "$sanlog"/*; do echo "== $f"; head -60 "$f"; done
	san_reports=$(ls "$sanlog" | wc -l)
fi
rm -rf "$sanlog"

total_pass=$(( ${unit_pass:-0} + it_pass ))
total_fail=$(( unit_fail + it_fail + san_reports ))
echo "integration tests: $it_pass passed, $it_fail failed; sanitizer reports: $san_reports"
echo "total: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
