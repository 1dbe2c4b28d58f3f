#!/usr/bin/env bash
# Thumbnail and pipeline benchmark against Debian's vipsthumbnail, whole process against whole
# process: generates photo-like JPEGs (12, 48 and 108 MP, textured and noisy, about 2 bits per
# pixel, with EXIF), builds `fieldproof` in release mode, then runs both sides interleaved and
# prints medians and ratios (see scripts/bench_thumbnails.py for what is measured).
#
#   scripts/bench-thumbnails.sh [RUNS]     # RUNS per measurement, 9 when absent
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v vipsthumbnail >/dev/null || need+=(libvips-tools)
command -v exiftool >/dev/null || need+=(libimage-exiftool-perl)
command -v openssl >/dev/null || need+=(openssl)
command -v cmake >/dev/null || need+=(cmake)
command -v nasm >/dev/null || need+=(nasm)
dpkg -s libheif-dev >/dev/null 2>&1 || need+=(libheif-dev)
if ((${#need[@]})); then
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y -q "${need[@]}" || { apt-get update -q && apt-get install -y -q "${need[@]}"; }
fi

cargo build --release --quiet -p fieldproof-server
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
exec python3 scripts/bench_thumbnails.py "$target_dir/release/fieldproof" "${1:-9}"
