"""Run every benchmark (quick where it has a quick profile) and the adversarial suite; rewrite the table in README.md.

    python benchmarks/run_all.py [--full] [--only NAME ...] [--adversarial-profile short|long]

Each row keeps the command that produced it and the last lines that command
printed, so a figure can be traced and reproduced. Only the text between the
markers in benchmarks/README.md is replaced.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "benchmarks" / "README.md"
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"

#: (name, what it measures, quick command, full command, which printed lines are the figures).
BENCHMARKS = [
    ("intake", "HTTP intake, submissions/s and CPU per submission: ceiling, receiver with intake only, with delivery, FastAPI + pydantic peer",
     ["benchmarks/intake.py", "--quick"], ["benchmarks/intake.py"],
     r"^- |^\| (prototype|ceiling|intake-only|fastapi|sqlite-\d|pg-\d) \| \d+ \| [\d,.]+ \||^\| cost \| [\w-]+ \| 64 \|"),
    ("local_store", "local git delivery, records/s",
     ["benchmarks/local_store.py", "--records", "200"], ["benchmarks/local_store.py"], r"^(\| )?(batch|\d+|1 \()"),
    ("delivery_cost", "local git delivery, CPU us per record (deliverer, git) early and late in one video's life",
     ["benchmarks/delivery_cost.py", "--window", "2000", "--at", "0,10000"], ["benchmarks/delivery_cost.py"], r"^(git |\| )"),
    ("github_delivery", "GitHub delivery modes, submissions/hour under GitHub's limits",
     ["benchmarks/github_delivery.py", "--records", "200"], ["benchmarks/github_delivery.py"], r"^\| (pull|batch|direct|mode)"),
    ("validate", "`receiver validate`, files/s, one job and every core",
     ["benchmarks/validate.py", "--records", "2000"], ["benchmarks/validate.py", "--records", "100000"], r"^\| (jobs|\d)"),
    ("export", "export, records/s per format",
     ["benchmarks/export.py", "--records", "2000"], ["benchmarks/export.py", "--records", "100000"], r"^(mode|submissions|consensus)"),
    ("next_frame", "next-frame answers/s and p50/p99 ms over a large frame tally",
     ["benchmarks/next_frame.py", "--videos", "100", "--frames", "1000", "--requests", "500"], ["benchmarks/next_frame.py"],
     r"^(\| (path|tally|next-frame)|tally built|\d[\d,]* videos)"),
    ("frames", "decoded frames/s from the cache and on a miss, and probe seconds per hour of video",
     ["benchmarks/frames.py", "--seconds", "20", "--requests", "30", "--probes", "3"], ["benchmarks/frames.py"], r"^(\| |\d+ s clips)"),
    ("consensus_quality", "consensus error vs median, DBSCAN (Zooniverse) and oracle; swaps, reliability, noise",
     ["benchmarks/consensus_quality.py", "--frames", "200"], ["benchmarks/consensus_quality.py"], r"^(\| |consensus beats|swaps|random|learned)"),
    ("consensus_scale", "`receiver consensus` over many records: seconds and peak memory",
     ["benchmarks/consensus_scale.py", "--records", "100000"], ["benchmarks/consensus_scale.py"], r"^\| "),
    ("consensus_cli", "`receiver consensus` and `receiver export --format slp` run on a git repository: seconds and peak memory per size",
     ["benchmarks/consensus_cli.py", "--records", "5000,20000"], ["benchmarks/consensus_cli.py"], r"^(command|consensus|export) "),
    ("model_in_loop", "a model in the loop: error on its wrong points, labels per settled frame, uncertain vs uniform selection",
     ["benchmarks/model_in_loop.py", "--frames", "150"], ["benchmarks/model_in_loop.py"], r"^(\(a\)|\(b\)|\(c\))"),
]


#: Rows whose figures take more than the usual 12 lines (intake: 6 setups x 3 client counts, the paired ceiling, the paused deliverer, the cost at 64, and the hot path's steps).
LINES = {"intake": 35}


def _run(command: list[str], env: dict[str, str] | None = None) -> tuple[int, str, float]:
    started = time.monotonic()
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, env=env, timeout=1800)
    return done.returncode, (done.stdout + done.stderr).strip(), time.monotonic() - started


def _cell(text: str, lines: int = 4, keep: str | None = None) -> str:
    chosen = [line.strip() for line in text.splitlines() if line.strip()]
    if keep is not None:
        chosen = [line for line in chosen if re.match(keep, line)] or chosen
    return "<br>".join(line.replace("|", "\\|") for line in chosen[-lines:]) or "(no output)"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", help="run only these rows (names as in the table; 'adversarial' for the suite)")
    parser.add_argument("--adversarial-profile", choices=("short", "long"), default="short")
    parser.add_argument("--full", action="store_true", help="full sizes (100,000 records, 10 s load runs) instead of the quick ones")
    args = parser.parse_args(argv)
    rows = []
    failed = False
    for name, what, quick, full, keep in BENCHMARKS:
        script = full if args.full else quick
        if args.only and name not in args.only or not (ROOT / script[0]).exists():
            continue
        command = [sys.executable, *script]
        code, output, seconds = _run(command)
        failed |= code != 0
        figures = _cell(output, LINES.get(name, 12), keep) if code == 0 else f"failed (exit {code}): {_cell(output, 2)}"
        rows.append((name, what, "python " + " ".join(script), figures, seconds))
    if not args.only or "adversarial" in args.only:
        with tempfile.TemporaryDirectory() as scratch:
            report = Path(scratch) / "report.json"
            env = {**os.environ, "ADVERSARIAL_REPORT": str(report), "ADVERSARIAL_PROFILE": args.adversarial_profile}
            script = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/adversarial"]
            code, output, seconds = _run([sys.executable, *script], env)
            failed |= code != 0
            counts = json.loads(report.read_text()) if report.exists() else {}
            figures = ", ".join(f"{k}: {v}" for k, v in counts.items()) or _cell(output, 2)
            command = f"ADVERSARIAL_PROFILE={args.adversarial_profile} python " + " ".join(script)
            rows.append(("adversarial", "fuzz counts, faults survived, losses, duplicates, 5xx, secrets found", command, figures, seconds))
    text = README.read_text(encoding="utf-8")
    head, _, rest = text.partition(BEGIN)
    current, _, tail = rest.partition(END)
    # --only reruns some rows: the others keep their last figures, in their place.
    fresh = {n: f"| {n} | {w} | `{c}` | {f} | {s:.0f} s |" for n, w, c, f, s in rows}
    kept = [line for line in current.strip().splitlines()[2:] if line.startswith("| ")]
    body = [fresh.pop(line.split(" | ", 1)[0][2:], line) for line in kept] + list(fresh.values())
    table = ["| benchmark | measures | command | figures (last lines printed) | took |", "| --- | --- | --- | --- | --- |", *body]
    README.write_text(f"{head}{BEGIN}\n{chr(10).join(table)}\n{END}{tail}", encoding="utf-8")
    print("\n".join(table))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
