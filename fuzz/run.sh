#!/usr/bin/env bash
# One fuzz target, for a bounded time: fuzz/run.sh BINARY TARGET WORKDIR [SECONDS].
# With ONYX_FUZZ_RUNS=N (as ctest runs it) the bound is N executions instead, SECONDS only a
# cap, and the run starts from an empty work directory: the same inputs on every machine,
# however fast.
# First every committed regression input (fuzz/regressions/TARGET) runs once and must pass;
# then libFuzzer mutates from the seeds: fuzz/corpus/TARGET plus, for the targets that read
# models, models of the ONNX backend suites installed (libonnx-testdata) and of the newest
# suite beside the checkout (tensor files: the suites' .pb inputs). New coverage goes to
# WORKDIR/TARGET (kept between timed runs).
# A crash leaves WORKDIR/crash-* and fails the run; copy it into fuzz/regressions/TARGET
# with the fix.
# The mutation seed is fixed (ONYX_FUZZ_SEED, default 1): a bounded run in CI is then a
# prefix of one sequence of inputs, and a crash it finds is found again here with the same
# seed. Long runs pass ONYX_FUZZ_SEED=0 for a random one, to reach past that sequence.
# ONYX_FUZZ_SEEDS caps how many suite files seed a run (default 150, spread evenly over
# the suites; 0: all of them): libFuzzer runs every seed before it mutates, and 1,900
# models take minutes under AddressSanitizer.
set -euo pipefail
shopt -s nullglob
bin=$(realpath "$1") target=$2 work=$3 seconds=${4:-${ONYX_FUZZ_SECONDS:-15}}
cap=${ONYX_FUZZ_SEEDS:-150} seed=${ONYX_FUZZ_SEED:-1} runs=${ONYX_FUZZ_RUNS:--1}
here=$(cd "$(dirname "$0")" && pwd)
if ((runs >= 0)); then rm -rf "${work:?}/$target"; fi
mkdir -p "$work/$target"
rm -rf "$work/seeds-$target" && mkdir -p "$work/seeds-$target"

# Links every cap-th-spread file named on stdin into the seed directory, as HASH.EXT.
link_seeds() {
  local ext=$1 files
  mapfile -t files < <(grep -v '^$' | sort)
  local n=${#files[@]} step=1
  if ((cap > 0 && n > cap)); then step=$(((n + cap - 1) / cap)); fi
  for ((i = 0; i < n; i += step)); do
    # Named by content, so that the seed set is the same wherever the checkout lies.
    ln -sf "${files[i]}" "$work/seeds-$target/$(md5sum <"${files[i]}" | cut -c1-12).$ext"
  done
}

seeds=("$work/seeds-$target")
[ -d "$here/corpus/$target" ] && seeds+=("$here/corpus/$target")
case $target in
  model | check | training | checkpoint)
    printf '%s\n' /usr/share/libonnx-testdata/data/*/*/model.onnx \
      "$here"/../../shared/onnx-newest/node/*/model.onnx | link_seeds onnx
    ;;
  tensor_file)
    printf '%s\n' /usr/share/libonnx-testdata/data/node/*/test_data_set_0/*.pb | link_seeds pb
    ;;
esac

if [ -d "$here/regressions/$target" ] && [ -n "$(ls -A "$here/regressions/$target")" ]; then
  echo "fuzz_$target: the committed regression inputs"
  "$bin" -rss_limit_mb=4096 -timeout=60 "$here/regressions/$target"/*
fi
if ((runs >= 0)); then bound="$runs runs (at most $seconds s)"; else bound="$seconds s"; fi
echo "fuzz_$target: $bound from ${#seeds[@]} seed directories, mutation seed $seed"
cd "$work"
exec "$bin" -seed="$seed" -runs="$runs" -max_total_time="$seconds" -timeout=30 -rss_limit_mb=4096 -max_len=1048576 \
  -print_final_stats=1 "$work/$target" "${seeds[@]}"
