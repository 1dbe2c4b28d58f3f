"""Runs `fieldproof inspect-photo` and `vipsthumbnail` side by side; called by bench-thumbnails.sh.

Every measurement runs both sides in turn (ours, theirs, ours, theirs, ...) and compares
medians of wall-clock time; peak memory is the child's maximum resident set from wait4.
"""

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

FIELDPROOF, RUNS = sys.argv[1], int(sys.argv[2])
WORK = os.path.join(tempfile.gettempdir(), "fieldproof-bench")
SIZES = {"12mp": (4000, 3000), "48mp": (8000, 6000), "108mp": (12000, 9000)}
ENV = dict(os.environ, RUST_LOG="warn", VIPS_WARNING="0")


def run(cmd):
    """Runs `cmd` (a list, or a list of lists run one after another); seconds and peak RSS in MB."""
    cmds = cmd if isinstance(cmd[0], list) else [cmd]
    start = time.perf_counter()
    peak = 0
    for c in cmds:
        p = subprocess.Popen(c, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=ENV)
        _, status, usage = os.wait4(p.pid, 0)
        p.returncode = os.waitstatus_to_exitcode(status)
        if p.returncode != 0:
            sys.exit(f"{' '.join(c)} failed: {p.stderr.read().decode(errors='replace')}")
        peak = max(peak, usage.ru_maxrss / 1024)
    return time.perf_counter() - start, peak


def photo(name, width, height):
    """A textured, noisy JPEG of about 2 bits per pixel with phone-like EXIF."""
    path = os.path.join(WORK, f"{name}.jpg")
    if os.path.exists(path):
        return path
    v = lambda *args: subprocess.run(["vips", *map(str, args)], check=True, cwd=WORK)
    # Coarse structure (blurred noise) plus fine grain, per band with its own seed.
    bands = []
    for band in range(3):
        v("gaussnoise", f"c{band}.v", width // 8, height // 8, "--sigma", 60, "--mean", 120, "--seed", band)
        v("resize", f"c{band}.v", f"C{band}.v", 8, "--kernel", "linear")
        v("gaussnoise", f"f{band}.v", width, height, "--sigma", 9, "--mean", 0, "--seed", 10 + band)
        v("add", f"C{band}.v", f"f{band}.v", f"b{band}.v")
        bands.append(f"b{band}.v")
    v("bandjoin", " ".join(bands), "rgb.v")
    v("cast", "rgb.v", "rgb8.v", "uchar")
    v("jpegsave", "rgb8.v", path, "--Q", 80, "--strip")
    subprocess.run(
        ["exiftool", "-q", "-overwrite_original", "-Make=Xiaomi", "-Model=2304FPN6DC",
         "-DateTimeOriginal=2026:05:01 10:00:00", "-OffsetTimeOriginal=+08:00",
         "-GPSLatitude=39.63", "-GPSLatitudeRef=N", "-GPSLongitude=118.18", "-GPSLongitudeRef=E",
         "-Orientation#=1", path],
        check=True,
    )
    for f in os.listdir(WORK):
        if f.endswith(".v"):
            os.remove(os.path.join(WORK, f))
    return path


def compare(label, ours, theirs):
    """Interleaved runs of both; prints medians, the ratio and peak memory."""
    run(ours), run(theirs)  # warm the page cache and the dynamic loader
    a, b = [], []
    for _ in range(RUNS):
        a.append(run(ours))
        b.append(run(theirs))
    ta, tb = statistics.median(t for t, _ in a), statistics.median(t for t, _ in b)
    ma, mb = max(m for _, m in a), max(m for _, m in b)
    print(f"{label:<44} {ta * 1000:8.1f} ms {tb * 1000:8.1f} ms  {ta / tb:5.2f}x  {ma:6.1f} MB {mb:6.1f} MB", flush=True)
    return ta / tb, ma


def throughput(path, out):
    """Photos per second through the whole pipeline with two processes at a time (both cores)."""
    n = 40
    cmd = [FIELDPROOF, "inspect-photo", path, "--thumbnails", out, "--sizes", "256,1280"]
    start = time.perf_counter()
    running = []
    for _ in range(n):
        if len(running) == 2:
            running.pop(0).wait()
        running.append(subprocess.Popen(cmd, stdout=subprocess.DEVNULL, env=ENV))
    for p in running:
        p.wait()
    return n / (time.perf_counter() - start)


def main():
    os.makedirs(WORK, exist_ok=True)
    photos = {}
    for name, (w, h) in SIZES.items():
        photos[name] = photo(name, w, h)
        size = os.path.getsize(photos[name])
        print(f"{name}: {w}x{h}, {size / 1e6:.1f} MB, {size * 8 / (w * h):.2f} bits per pixel")
    out = os.path.join(WORK, "out")
    shutil.rmtree(out, ignore_errors=True)
    os.makedirs(out)
    vips_out = os.path.join(out, "%s-vips.jpg")
    print(f"\n{'(median of ' + str(RUNS) + ' interleaved runs)':<44} {'fieldproof':>11} {'vips':>11}  ratio  {'peak RSS':>9} {'vips':>9}")
    ratios = {}
    for name, path in photos.items():
        for edge in (256, 1280):
            ratios[(name, edge)] = compare(
                f"{name} -> {edge} px, one thumbnail",
                [FIELDPROOF, "inspect-photo", path, "--thumbnails", out, "--sizes", str(edge)],
                ["vipsthumbnail", path, "-s", str(edge), "-o", vips_out],
            )
    for name, path in photos.items():
        ratios[(name, "pipeline")] = compare(
            f"{name} whole pipeline vs vips 1280+256+sha256",
            [FIELDPROOF, "inspect-photo", path, "--thumbnails", out, "--sizes", "256,1280"],
            [
                ["vipsthumbnail", path, "-s", "1280", "-o", vips_out],
                ["vipsthumbnail", path, "-s", "256", "-o", vips_out],
                ["openssl", "dgst", "-sha256", path],
            ],
        )
    rate = throughput(photos["12mp"], out)
    print(f"\nthroughput, 12 MP whole pipeline, 2 processes: {rate:.1f} photos/s")
    print("\ntargets:")
    for label, value, limit in [
        ("12 MP -> 256 px", ratios[("12mp", 256)][0], 0.5),
        ("108 MP -> 1280 px", ratios[("108mp", 1280)][0], 0.85),
        ("12 MP whole pipeline", ratios[("12mp", "pipeline")][0], 0.5),
        ("108 MP whole pipeline", ratios[("108mp", "pipeline")][0], 0.5),
    ]:
        print(f"  {label:<24} {value:5.2f}x  (at most {limit}x: {'met' if value <= limit else 'NOT met'})")
    print(f"  {'throughput':<24} {rate:5.1f}/s (at least 15/s: {'met' if rate >= 15 else 'NOT met'})")
    peak = max(m for _, m in ratios.values())
    print(f"  {'peak memory, any photo':<24} {peak:5.1f} MB (at most 64 MB: {'met' if peak <= 64 else 'NOT met'})")


main()
