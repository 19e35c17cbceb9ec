#!/usr/bin/env bash
# Installs the build into a fresh prefix, then builds tests/install's program against it
# twice: through find_package(onyx) and through pkg-config; runs both. usage: run.sh BUILD
set -euo pipefail
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d /tmp/onyx_install.XXXXXX)
trap 'rm -rf "$work"' EXIT
cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -x "$work/prefix/bin/onyx"
"$work/prefix/bin/onyx" --help >/dev/null
cmake -S "$here" -B "$work/cmake-build" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/cmake-build" >/dev/null
"$work/cmake-build/consumer"
export PKG_CONFIG_PATH="$work/prefix/lib/pkgconfig"
# shellcheck disable=SC2046  # pkg-config's flags are meant to split
g++ -O1 "$here/consumer.cc" -o "$work/consumer-pc" $(pkg-config --cflags --libs onyx)
"$work/consumer-pc"
