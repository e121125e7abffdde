#!/usr/bin/env bash
# Fuzzes every parser of sshfix with libFuzzer (cargo-fuzz), one target after
# the other for a fixed time each, and records executions, coverage and
# corpus size per target. docs/fuzzing.md explains the targets and results.
#
#   bash scripts/fuzz.sh [--merge] [SECONDS_PER_TARGET] [TARGET...]
#
# SECONDS_PER_TARGET defaults to 60; no TARGET means all of them (the list is
# fuzz/fuzz_targets/). On a fresh Debian machine run it as root: it installs
# g++ (libFuzzer is C++, built by the libfuzzer-sys crate) and cargo-fuzz
# (`cargo install --locked cargo-fuzz`) when they are missing.
#
# Results: fuzz/results/latest.md and latest.json, one libFuzzer log per
# target in fuzz/results/logs/ (all gitignored); a table on stdout.
# Corpora: libFuzzer reads the committed seeds (fuzz/corpus/NAME/) and the
# regression inputs (fuzz/regressions/NAME/) and writes what it finds to
# fuzz/work/NAME/ (gitignored), so the committed corpus stays small. With
# --merge, the inputs of fuzz/work/NAME/ that add coverage are merged into
# fuzz/corpus/NAME/ (libFuzzer -merge=1) for committing.
# Failures: a crash (panic, stack overflow, abort), a timeout (one input
# running over 10 s), running out of memory (2 GB) or one input taking 1 s or
# more (a quadratic blow-up) stops that target; the input is copied to
# fuzz/regressions/NAME/ (the normal `cargo test` then runs it, see
# tests/fuzz_regressions.rs) and the script exits 1 naming every failed target.
#
# Toolchain: stable Rust. cargo-fuzz passes only stable `-C` flags (the
# sanitizer-coverage passes and `-Cllvm-args`) unless a sanitizer is asked
# for; sanitizers are `-Zsanitizer=…`, nightly-only. So the targets are built
# with `--sanitizer none` and need no RUSTC_BOOTSTRAP. sshfix forbids unsafe
# code (`unsafe_code = "deny"`), so AddressSanitizer would only watch the
# dependencies, at about half the executions per second. FUZZ_SANITIZER=address
# builds with ASan instead (RUSTC_BOOTSTRAP=1 lets stable rustc take the
# `-Z` flag; the ASan runtime ships with the stable x86_64 Linux std).
# Debug assertions and overflow checks are on (cargo-fuzz's default for a
# release build), so an arithmetic overflow is a crash too. One fuzzer
# process runs at a time, single-threaded (no -jobs/-workers/-fork): the
# machines this runs on are small and shared.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '\n==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 2; }

merge=0
seconds=60
targets=()
for a in "$@"; do
  case "$a" in
    --merge) merge=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) die "unknown option \`$a\` (see \`bash scripts/fuzz.sh --help\`)" ;;
    *[!0-9]*) targets+=("$a") ;;
    *) seconds=$a ;;
  esac
done
[ "$seconds" -ge 1 ] || die "SECONDS_PER_TARGET must be at least 1"

all=$(find fuzz/fuzz_targets -name '*.rs' -printf '%f\n' | sed 's/\.rs$//' | sort)
if [ ${#targets[@]} -eq 0 ]; then
  # shellcheck disable=SC2206
  targets=($all)
fi
for t in "${targets[@]}"; do
  grep -qx -- "$t" <<<"$all" || die "no fuzz target \`$t\`; the targets are: ${all//$'\n'/ }"
done

# shellcheck source=scripts/cargo-path.sh
. scripts/cargo-path.sh

# ------------------------------------------------------------------ install
if ! command -v c++ >/dev/null 2>&1 && ! command -v clang++ >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing g++ (libFuzzer is C++)"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends g++ >/dev/null
  else
    die "no C++ compiler: install g++ (\`sudo apt-get install g++\`) and rerun"
  fi
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  say "installing cargo-fuzz (cargo install --locked cargo-fuzz)"
  cargo install --locked cargo-fuzz
fi

# -------------------------------------------------------------------- build
sanitizer=${FUZZ_SANITIZER:-none}
case "$sanitizer" in
  none) ;;
  address) export RUSTC_BOOTSTRAP=1 ;;
  *) die "FUZZ_SANITIZER must be \`none\` or \`address\`" ;;
esac
say "cargo fuzz build --sanitizer $sanitizer ($(cargo fuzz --version), $(rustc --version))"
cargo fuzz build --fuzz-dir fuzz --sanitizer "$sanitizer"
triple=$(rustc -vV | sed -n 's/^host: //p')
bindir=fuzz/target/$triple/release

# ---------------------------------------------------------------------- run
max_len() {
  case "$1" in
    facts_*|nft) echo 65536 ;; # captured facts streams and nft JSON are 20-50 KB
    *) echo 16384 ;;
  esac
}
stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }
status_field() { # FIELD LOG: from libFuzzer's last status line (`#N DONE cov: …`)
  grep -aE '^#[0-9]+' "$2" | grep -a " $1: " | tail -1 | sed -E "s/.* $1: ([^ ]+).*/\\1/"
}

mkdir -p fuzz/results/logs fuzz/artifacts fuzz/work
started=$(date -u +%Y-%m-%dT%H:%M:%SZ)
rows=()
json_rows=()
failed=()
for t in "${targets[@]}"; do
  bin=$bindir/$t
  [ -x "$bin" ] || die "\`$bin\` was not built"
  work=fuzz/work/$t
  art=fuzz/artifacts/$t
  log=fuzz/results/logs/$t.log
  mkdir -p "$work" "$art" "fuzz/corpus/$t"
  reg=()
  [ -d "fuzz/regressions/$t" ] && reg=("fuzz/regressions/$t")
  dict=()
  case "$t" in facts_*) dict=(-dict=fuzz/dicts/facts.dict) ;; esac
  before=$(find "$art" -type f | sort)
  say "fuzzing $t for ${seconds}s"
  t0=$(date +%s)
  rc=0
  "$bin" -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb=2048 \
    -max_len="$(max_len "$t")" -timeout=10 -report_slow_units=1 \
    -artifact_prefix="$art/" ${dict[@]+"${dict[@]}"} \
    "$work" "fuzz/corpus/$t" ${reg[@]+"${reg[@]}"} >"$log" 2>&1 || rc=$?
  t1=$(date +%s)
  found=$(comm -13 <(echo "$before") <(find "$art" -type f | sort) | sed '/^$/d' || true)
  result=ok
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    result=FAILED
    failed+=("$t")
    mkdir -p "fuzz/regressions/$t"
    for f in $found; do
      cp "$f" "fuzz/regressions/$t/"
      echo "$t: $(basename "$f") (libFuzzer exit $rc) -> fuzz/regressions/$t/$(basename "$f")" >&2
    done
    [ -n "$found" ] || echo "$t: libFuzzer exited $rc without an input; see $log" >&2
    grep -a -m3 -E 'panicked at|ERROR: libFuzzer|Slowest unit|overflow' "$log" >&2 || true
  fi
  if [ "$merge" = 1 ]; then
    "$bin" -merge=1 -max_len="$(max_len "$t")" -timeout=10 -rss_limit_mb=2048 \
      "fuzz/corpus/$t" "$work" >"fuzz/results/logs/$t.merge.log" 2>&1 ||
      echo "$t: merging into fuzz/corpus/$t failed; see fuzz/results/logs/$t.merge.log" >&2
  fi
  execs=$(stat_of number_of_executed_units "$log"); execs=${execs:-0}
  eps=$(stat_of average_exec_per_sec "$log"); eps=${eps:-0}
  new=$(stat_of new_units_added "$log"); new=${new:-0}
  slowest=$(stat_of slowest_unit_time_sec "$log"); slowest=${slowest:-0}
  rss=$(stat_of peak_rss_mb "$log"); rss=${rss:-0}
  cov=$(status_field cov "$log"); cov=${cov:-0}
  ft=$(status_field ft "$log"); ft=${ft:-0}
  corp=$(status_field corp "$log"); corp=${corp:-0/0b}
  secs=$((t1 - t0))
  rows+=("| $t | $result | $secs | $execs | $eps | $cov | $ft | $corp | $new | $slowest | $rss |")
  json_rows+=("{\"target\":\"$t\",\"result\":\"$result\",\"seconds\":$secs,\"executions\":$execs,\"execs_per_sec\":$eps,\"cov\":$cov,\"ft\":$ft,\"corpus\":\"$corp\",\"new_units\":$new,\"slowest_unit_sec\":$slowest,\"peak_rss_mb\":$rss,\"libfuzzer_exit\":$rc}")
done

# ------------------------------------------------------------------ results
header="| target | result | seconds | executions | exec/s | cov | ft | corpus (units/bytes) | new units | slowest unit (s) | peak RSS (MB) |
| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
{
  echo "# Fuzzing results"
  echo
  echo "Started $started; ${seconds}s per target; sanitizer \`$sanitizer\`;"
  echo "$(rustc --version); $(cargo fuzz --version); $(nproc) CPUs."
  echo "\`cov\` and \`ft\` are libFuzzer's covered edges and features at the end of the run,"
  echo "\`corpus\` its in-memory corpus (seeds, regressions and what it found)."
  echo
  echo "$header"
  printf '%s\n' "${rows[@]}"
} >fuzz/results/latest.md
{
  printf '{"started":"%s","seconds_per_target":%s,"sanitizer":"%s","targets":[\n' "$started" "$seconds" "$sanitizer"
  sep=""
  for r in "${json_rows[@]}"; do printf '%s  %s' "$sep" "$r"; sep=$',\n'; done
  printf '\n]}\n'
} >fuzz/results/latest.json
echo "$header"
printf '%s\n' "${rows[@]}"
echo >&2
echo "results: fuzz/results/latest.md, fuzz/results/latest.json; logs: fuzz/results/logs/" >&2
if [ ${#failed[@]} -gt 0 ]; then
  echo "FAILED: ${failed[*]} (inputs copied to fuzz/regressions/; \`cargo test --test fuzz_regressions\` runs them)" >&2
  exit 1
fi
echo "no crash, timeout, out-of-memory or slow input in ${#targets[@]} targets" >&2
