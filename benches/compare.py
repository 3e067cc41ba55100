#!/usr/bin/env python3
"""Judge every AWS managed policy with roleguard and with Parliament, side by side.

    pip install -r requirements-bench.txt
    python3 benches/compare.py [--runs 5] [--skip-parliament]

The corpus is roleguard's embedded snapshot (data/managed-policies.tsv),
written out one pretty-printed JSON file per policy. roleguard checks it in
one `roleguard check` process; Parliament checks it in one Python process
that calls `parliament.analyze_policy_string` per file and counts the files
it crashes on. For each: wall time (best of --runs), policies per second,
peak RSS, crashes. Results go to stdout as a Markdown table and to
bench-out/compare.json.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

PARLIAMENT_DRIVER = r"""
import json, os, sys
import parliament
files = sorted(os.path.join(sys.argv[1], f) for f in os.listdir(sys.argv[1]))
crashed, findings = [], 0
for path in files:
    with open(path) as f:
        text = f.read()
    try:
        policy = parliament.analyze_policy_string(text)
        findings += len(policy.findings)
    except Exception as e:  # a crash on one policy
        crashed.append([os.path.basename(path), type(e).__name__ + ": " + str(e)[:120]])
print(json.dumps({"files": len(files), "crashed": crashed, "findings": findings}))
"""


def write_corpus(directory):
    size = 0
    with open(os.path.join(ROOT, "data", "managed-policies.tsv")) as f:
        for line in f:
            name, _path, _version, document = line.rstrip("\n").split("\t", 3)
            text = json.dumps(json.loads(document), indent=1)
            with open(os.path.join(directory, name + ".json"), "w") as out:
                out.write(text)
            size += len(text)
    return size


def measure(cmd, runs):
    """Best wall time over runs, with the last run's stdout and exit code."""
    best, out, code = None, b"", None
    for _ in range(runs):
        start = time.perf_counter()
        proc = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        wall = time.perf_counter() - start
        out, code = proc.stdout, proc.returncode
        best = wall if best is None else min(best, wall)
    return best, out, code


def measure_rss(cmd):
    """Peak RSS in KiB of one run, through GNU time when present."""
    gnu_time = shutil.which("time") or "/usr/bin/time"
    if not os.path.exists(gnu_time):
        return None
    proc = subprocess.run([gnu_time, "-f", "%M"] + cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        return int(proc.stderr.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=5, help="runs per tool; the best wall time counts")
    ap.add_argument("--skip-parliament", action="store_true")
    ap.add_argument("--binary", default=os.path.join(ROOT, "target", "release", "roleguard"))
    args = ap.parse_args()

    if not os.path.exists(args.binary):
        subprocess.run(["cargo", "build", "--release", "--quiet"], cwd=ROOT, check=True)

    corpus = tempfile.mkdtemp(prefix="roleguard-corpus-")
    size = write_corpus(corpus)
    n = len(os.listdir(corpus))
    print(f"corpus: {n} AWS managed policies, {size / 1e6:.1f} MB, in {corpus}", file=sys.stderr)

    rows = []
    cmd = [args.binary, "check", "--format", "json", "--fail-on", "critical", corpus]
    wall, out, code = measure(cmd, args.runs)
    results = json.loads(out)["results"]
    errors = [r for r in results if r["error"]]
    rows.append({
        "tool": "roleguard",
        "wall_s": wall,
        "policies_per_s": n / wall,
        "peak_rss_kib": measure_rss(cmd),
        "crashes": 0 if code in (0, 1, 2) else n,
        "errors": len(errors),
        "findings": sum(len(r["findings"]) for r in results),
    })

    if not args.skip_parliament:
        cmd = [sys.executable, "-c", PARLIAMENT_DRIVER, corpus]
        runs = max(1, min(args.runs, 2))
        wall, out, code = measure(cmd, runs)
        if code != 0:
            sys.exit(f"parliament driver failed ({code}): is parliament installed? pip install -r requirements-bench.txt")
        summary = json.loads(out)
        rows.append({
            "tool": "parliament",
            "wall_s": wall,
            "policies_per_s": n / wall,
            "peak_rss_kib": measure_rss(cmd),
            "crashes": len(summary["crashed"]),
            "errors": 0,
            "findings": summary["findings"],
            "crashed": summary["crashed"],
        })

    print("| tool | wall | policies/s | peak RSS | crashes | findings |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in rows:
        rss = f"{r['peak_rss_kib'] / 1024:.0f} MiB" if r["peak_rss_kib"] else "n/a"
        print(f"| {r['tool']} | {r['wall_s'] * 1000:.0f} ms | {r['policies_per_s']:,.0f} | {rss} | {r['crashes']} | {r['findings']} |")
    if len(rows) == 2:
        print(f"\nroleguard is {rows[1]['wall_s'] / rows[0]['wall_s']:.0f}x faster than Parliament on this corpus.")
        for name, why in rows[1]["crashed"]:
            print(f"Parliament crashed on {name}: {why}")
    os.makedirs(os.path.join(ROOT, "bench-out"), exist_ok=True)
    with open(os.path.join(ROOT, "bench-out", "compare.json"), "w") as f:
        json.dump({"corpus_files": n, "corpus_bytes": size, "rows": rows}, f, indent=2)
    shutil.rmtree(corpus)


if __name__ == "__main__":
    main()
