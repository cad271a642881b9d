#!/usr/bin/env bash
# SPDX-License-Identifier: Apache-2.0
# bench/memory.sh [WIDTHxHEIGHT ...]
# Peak resident memory of `slide2dcm convert` on synthetic Aperio-like slides of growing
# size (default 20000x16000, 100000x80000, and 400000x4000 for width alone): it must stay
# bounded, independent of the slide's size. Each slide and its output are deleted after its run. Prints a table and
# writes bench/results/memory.json.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh build tests
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build/release -j2 --target slide2dcm s2d-make-svs >/dev/null

sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(20000x16000 100000x80000 400000x4000)
work=${BENCH_WORK:-build/bench-memory}
mkdir -p "$work" bench/results
results=()
for size in "${sizes[@]}"; do
    w=${size%x*} h=${size#*x}
    slide="$work/synthetic-$size.svs"
    out="$work/out-$size"
    rm -rf "$out"
    echo "== $size: making the slide" >&2
    build/release/s2d-make-svs "$slide" --width "$w" --height "$h" --tile 256 --mpp 0.25 \
        --levels 3 --quality 80
    echo "== $size: converting" >&2
    # GNU time reports the converter's own rusage; a child forked from Python directly
    # would carry Python's resident size into its ru_maxrss.
    line=$(/usr/bin/python3 - "$slide" "$out" "$size" <<'PY'
import json, os, subprocess, sys, tempfile, time
slide, out, size = sys.argv[1:4]
with tempfile.NamedTemporaryFile("r") as usage:
    t0 = time.monotonic()
    subprocess.run(["/usr/bin/time", "-f", "%U %S %M", "-o", usage.name, "--",
                    "build/release/slide2dcm", "convert", slide, "-o", out, "--quiet",
                    "--json-report", out + ".json"], check=True)
    wall = time.monotonic() - t0
    user, system, rss_kb = usage.read().split()[-3:]
report = json.load(open(out + ".json"))
w, h = map(int, size.split("x"))
print(json.dumps({"size": size, "megapixels": w * h / 1e6, "wall_s": round(wall, 1),
                  "cpu_s": round(float(user) + float(system), 1),
                  "peak_rss_mb": round(int(rss_kb) / 1024, 1),
                  "levels": sum(f["flavor"] == "VOLUME" for f in report["files"]),
                  "output_mb": round(sum(f["bytes"] for f in report["files"]) / 1e6, 1),
                  "slide_mb": round(os.path.getsize(slide) / 1e6, 1)}))
PY
)
    echo "$line"
    results+=("$line")
    rm -rf "$out" "$out.json" "$slide"
done
printf '%s\n' "${results[@]}" | /usr/bin/python3 -c '
import json, sys, datetime
rows = [json.loads(l) for l in sys.stdin if l.strip()]
json.dump({"date": datetime.date.today().isoformat(), "runs": rows},
          open("bench/results/memory.json", "w"), indent=2)
print("| slide | megapixels | levels | wall s | CPU s | peak RSS MB | output MB |")
print("|---|---|---|---|---|---|---|")
for r in rows:
    print("| %s | %.0f | %d | %.1f | %.1f | %.1f | %.1f |" % (r["size"], r["megapixels"],
          r["levels"], r["wall_s"], r["cpu_s"], r["peak_rss_mb"], r["output_mb"]))'
