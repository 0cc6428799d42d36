"""A report a person can look at: one HTML page and its SVG plots, written by this module (no plotting library).

Plots: per keypoint, the learned noise and the share of clicks that agree;
the distribution of volunteers' reliability; and, when gold exists, the
consensus error against the number of volunteers. Tables: frames for expert
review and the least reliable volunteers. Every text is escaped.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from pathlib import Path

from receiver.consensus.repository import Consensus

__all__ = ["bar_chart", "line_chart", "write_report"]

_W, _H, _PAD = 560, 300, 48


def _svg(title: str, body: list[str]) -> str:
    head = (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{_W}" height="{_H}" viewBox="0 0 {_W} {_H}" '
        f'font-family="sans-serif" font-size="11"><title>{html.escape(title)}</title>'
        f'<rect width="{_W}" height="{_H}" fill="white"/>'
        f'<text x="{_W / 2}" y="16" text-anchor="middle" font-size="13">{html.escape(title)}</text>'
    )
    axes = (
        f'<line x1="{_PAD}" y1="{_H - _PAD}" x2="{_W - 10}" y2="{_H - _PAD}" stroke="black"/>'
        f'<line x1="{_PAD}" y1="28" x2="{_PAD}" y2="{_H - _PAD}" stroke="black"/>'
    )
    return head + axes + "".join(body) + "</svg>\n"


def _ticks(top: float) -> list[str]:
    parts = []
    for i in range(5):
        value = top * i / 4
        y = _H - _PAD - (_H - _PAD - 28) * i / 4
        parts.append(f'<text x="{_PAD - 4}" y="{y + 4:.1f}" text-anchor="end">{value:.3g}</text>')
    return parts


def bar_chart(title: str, labels: Sequence[str], values: Sequence[float], *, unit: str = "") -> str:
    """Vertical bars, one per label, with the values written on top."""
    top = max([v for v in values if math.isfinite(v)] + [1e-9]) * 1.15
    slot = (_W - _PAD - 10) / max(len(values), 1)
    body = _ticks(top)
    for i, (label, value) in enumerate(zip(labels, values)):
        height = (_H - _PAD - 28) * (value / top if math.isfinite(value) else 0)
        x = _PAD + i * slot + slot * 0.15
        y = _H - _PAD - height
        body.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{slot * 0.7:.1f}" height="{height:.1f}" fill="#4c78a8"/>')
        body.append(f'<text x="{x + slot * 0.35:.1f}" y="{y - 3:.1f}" text-anchor="middle">{value:.2f}{html.escape(unit)}</text>')
        body.append(
            f'<text x="{x + slot * 0.35:.1f}" y="{_H - _PAD + 14}" text-anchor="middle" font-size="9">{html.escape(label[:18])}</text>'
        )
    return _svg(title, body)


def line_chart(title: str, xs: Sequence[float], ys: Sequence[float], *, xlabel: str, ylabel: str) -> str:
    """A polyline with dots, axes from zero."""
    top = max(list(ys) + [1e-9]) * 1.15
    right = max(list(xs) + [1.0])
    width, height = _W - _PAD - 20, _H - _PAD - 28

    def at(x: float, y: float) -> tuple[float, float]:
        return _PAD + width * x / right, _H - _PAD - height * y / top

    points = [at(x, y) for x, y in zip(xs, ys)]
    body = _ticks(top)
    body.append('<polyline fill="none" stroke="#e45756" stroke-width="2" points="' + " ".join(f"{x:.1f},{y:.1f}" for x, y in points) + '"/>')
    body += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="#e45756"/>' for x, y in points]
    body += [f'<text x="{at(x, 0)[0]:.1f}" y="{_H - _PAD + 14}" text-anchor="middle">{x:g}</text>' for x in xs]
    body.append(f'<text x="{_W / 2}" y="{_H - 8}" text-anchor="middle">{html.escape(xlabel)}</text>')
    body.append(f'<text x="12" y="{_H / 2}" transform="rotate(-90 12 {_H / 2})" text-anchor="middle">{html.escape(ylabel)}</text>')
    return _svg(title, body)


def write_report(result: Consensus, folder: Path) -> Path:
    """Write index.html and its SVG plots into `folder`; returns the page's path."""
    folder.mkdir(parents=True, exist_ok=True)
    model = result.model
    keypoints = list(model.keypoints)
    diagonal = math.hypot(1280, 720)
    if result.frames:
        diagonal = sorted(math.hypot(f.width, f.height) for f in result.frames)[len(result.frames) // 2]
    clicks = [0] * len(keypoints)
    agreeing = [0] * len(keypoints)
    for frame in result.frames:
        for k, n in enumerate(frame.agreeing):
            agreeing[k] += n
        for s in frame.submissions:
            for k, name in enumerate(keypoints):
                clicks[k] += 1 if name not in s.outlying_keypoints else 0
    plots = {
        "noise.svg": bar_chart("Learned noise per keypoint (px per axis)", keypoints, [float(s) * diagonal for s in model.sigma], unit=""),
        "agreement.svg": bar_chart(
            "Share of clicks agreeing with the consensus, per keypoint",
            keypoints,
            [agreeing[k] / max(sum(f.labels for f in result.frames), 1) for k in range(len(keypoints))],
        ),
    }
    bins = [0] * 10
    for v in result.volunteers:
        bins[min(int(v.reliability * 10), 9)] += 1
    plots["reliability.svg"] = bar_chart(
        "Volunteers by reliability (expected agreement with the truth)", [f"{i / 10:.1f}-{(i + 1) / 10:.1f}" for i in range(10)], bins
    )
    if result.gold_curve:
        plots["gold.svg"] = line_chart(
            "Consensus error against gold, by number of volunteers",
            [n for n, _, _ in result.gold_curve],
            [e for _, e, _ in result.gold_curve],
            xlabel="volunteers per frame",
            ylabel="mean error (px)",
        )
    for name, svg in plots.items():
        (folder / name).write_text(svg, encoding="utf-8")
    settled = sum(1 for f in result.frames if f.settled)
    review_rows = "".join(
        f"<tr><td>{html.escape(f.key.video_url)}</td><td>{f.key.frame_index}</td><td>{html.escape('; '.join(f.review))}</td></tr>"
        for f in result.review[:200]
    )
    volunteer_rows = "".join(
        f"<tr><td>{html.escape(v.volunteer)}</td><td>{v.labels}</td><td>{v.agreement:.2f}</td><td>{v.reliability:.2f}</td>"
        f"<td>{v.swaps}</td><td>{'-' if v.gold_error_px is None else f'{v.gold_error_px:.1f}'}</td></tr>"
        for v in sorted(result.volunteers, key=lambda v: v.reliability)[:50]
    )
    images = "".join(f'<figure><img src="{name}" alt="{name[:-4]}" data-testid="plot-{name[:-4]}"></figure>' for name in plots)
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Consensus report</title>
<style>body{{font-family:sans-serif;margin:2em;max-width:1200px}}figure{{display:inline-block;margin:0.5em}}
table{{border-collapse:collapse}}td,th{{border:1px solid #ccc;padding:2px 6px;font-size:13px}}</style></head>
<body><h1>Consensus report</h1>
<p>{len(result.frames)} frame(s), {settled} settled, {len(result.review)} for expert review;
{len(result.volunteers)} volunteer(s); {sum(f.swaps for f in result.frames)} left/right swap(s) repaired.</p>
{images}
<h2>Frames for expert review</h2>
<table data-testid="review"><tr><th>video</th><th>frame</th><th>why</th></tr>{review_rows}</table>
<h2>Least reliable volunteers</h2>
<table data-testid="volunteers"><tr><th>volunteer</th><th>labels</th><th>agreement</th><th>reliability</th><th>swaps</th><th>gold error px</th></tr>{volunteer_rows}</table>
</body></html>
"""
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
