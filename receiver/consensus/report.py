"""A report a person can look at: one HTML page with its plots drawn by matplotlib and embedded as SVG.

Plots: per keypoint, the learned noise and the share of clicks that agree;
the distribution of volunteers' reliability; and, when gold exists, the
consensus error against the number of volunteers. Tables: frames for expert
review and the least reliable volunteers, or a sentence when there are none.
Example frames: thumbnails of the frames for review and the most disputed,
with the consensus and the outlying clicks drawn over the video's picture
when the caller could decode it (this package reads no video: `pictures`
come in as values), or over a grey frame of the same size with a sentence
saying why not.
The page is one file (nothing to lose beside it), reads on a phone (a
viewport and plots that shrink to the screen), and escapes every text.

matplotlib draws as the field's reports do, with ticks a reader expects
(round steps, whole numbers for counts); its figures are built as objects,
never through pyplot's global state. It is in the `export` extra, which
`receiver consensus` needs anyway; importing this module without it raises a
`ModuleNotFoundError` that says what to install.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from receiver.consensus.repository import Consensus, FrameConsensus
from receiver.consensus.votes import FrameKey, Point

try:
    import matplotlib
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle
    from matplotlib.ticker import MaxNLocator, PercentFormatter
except ModuleNotFoundError as exc:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError("the consensus report is drawn with matplotlib: install pose-receiver[export] (pip install matplotlib)") from exc

__all__ = ["EXAMPLES", "ExampleFrame", "Picture", "bar_chart", "example_frames", "line_chart", "write_report"]

#: A plot's size in inches at 100 px an inch: 560 x 300 px, shrunk by the page on narrow screens.
_SIZE = (5.6, 3.0)
_BAR, _LINE = "#4c78a8", "#e45756"
# Fixed ids and no date: the same consensus gives the same page, byte for byte.
_RC: dict[Any, Any] = {"svg.hashsalt": "pose-receiver", "svg.fonttype": "none", "font.family": "sans-serif", "font.size": 9}


def _to_svg(figure: Figure, name: str, title: str) -> str:
    """The figure as an inline `<svg>` element, its ids prefixed with `name` so several plots share one page."""
    buffer = io.StringIO()
    with matplotlib.rc_context(_RC):
        figure.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    text = text[text.index("<svg") :]
    # Inline SVGs share the document's id space: make each plot's ids its own.
    text = re.sub(r'id="([^"]+)"', lambda m: f'id="{name}-{m.group(1)}"', text)
    text = re.sub(r"(url\(#|xlink:href=\"#|href=\"#)([^)\"]+)", lambda m: f"{m.group(1)}{name}-{m.group(2)}", text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{html.escape(title)}" ', 1)


def _figure(title: str) -> tuple[Figure, Axes]:
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=_SIZE, dpi=100, layout="constrained")
        axes = figure.add_subplot()
        axes.set_title(title, fontsize=10)
        axes.spines[["top", "right"]].set_visible(False)
    return figure, axes


def bar_chart(
    title: str, labels: Sequence[str], values: Sequence[float], *, unit: str = "", ylabel: str = "", counts: bool = False, share: bool = False
) -> str:
    """Vertical bars, one per label, each with its value on top: whole numbers for `counts`, percentages for `share`.

    Returns an SVG element for embedding.
    """
    shown = [v if math.isfinite(v) else 0.0 for v in values]
    figure, axes = _figure(title)
    with matplotlib.rc_context(_RC):
        bars = axes.bar(range(len(shown)), shown, color=_BAR, width=0.7)
        crowded = len(labels) > 6 or max((len(label) for label in labels), default=0) > 10
        axes.set_xticks(range(len(labels)), [label[:18] for label in labels], rotation=30 if crowded else 0, ha="right" if crowded else "center", fontsize=8)
        if ylabel:
            axes.set_ylabel(ylabel)
        if counts:
            axes.yaxis.set_major_locator(MaxNLocator(integer=True))
            texts = [f"{int(round(v))}" for v in shown]
        elif share:
            axes.yaxis.set_major_formatter(PercentFormatter(xmax=1.0, decimals=0))
            texts = [f"{v:.0%}" for v in shown]
        else:
            axes.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
            texts = [f"{v:.1f}{unit}" for v in shown]
        axes.bar_label(bars, labels=texts, padding=2, fontsize=8)
        axes.set_ylim(0, max(shown + [1.0 if counts else 1e-9]) * 1.18)
    return _to_svg(figure, _slug(title), title)


def line_chart(title: str, xs: Sequence[float], ys: Sequence[float], *, xlabel: str, ylabel: str) -> str:
    """A line with dots, axes from zero, a tick at each x given; returns an SVG element for embedding."""
    figure, axes = _figure(title)
    with matplotlib.rc_context(_RC):
        axes.plot(xs, ys, color=_LINE, marker="o", linewidth=2)
        axes.set_xticks(list(xs), [f"{x:g}" for x in xs])
        axes.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))
        axes.set_xlim(0, max(list(xs) + [1.0]) * 1.05)
        axes.set_ylim(0, max(list(ys) + [1e-9]) * 1.15)
        axes.set_xlabel(xlabel)
        axes.set_ylabel(ylabel)
    return _to_svg(figure, _slug(title), title)


def _slug(title: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:40]


def _plots(result: Consensus) -> dict[str, str]:
    """The report's plots by name, each an SVG element."""
    model = result.model
    keypoints = list(model.keypoints)
    diagonal = math.hypot(1280, 720)
    if result.frames:
        diagonal = sorted(math.hypot(f.width, f.height) for f in result.frames)[len(result.frames) // 2]
    agreeing = [0] * len(keypoints)
    for frame in result.frames:
        for k, n in enumerate(frame.agreeing):
            agreeing[k] += n
    labels = max(sum(f.labels for f in result.frames), 1)
    plots = {
        "noise": bar_chart("Learned noise per keypoint (px per axis)", keypoints, [float(s) * diagonal for s in model.sigma], ylabel="px"),
        "agreement": bar_chart("Share of clicks agreeing with the consensus, per keypoint", keypoints, [agreeing[k] / labels for k in range(len(keypoints))], share=True),
    }
    bins = [0] * 10
    for v in result.volunteers:
        bins[min(int(v.reliability * 10), 9)] += 1
    plots["reliability"] = bar_chart(
        "Volunteers by reliability (expected agreement with the truth)",
        [f"{i / 10:.1f}-{(i + 1) / 10:.1f}" for i in range(10)],
        bins,
        ylabel="volunteers",
        counts=True,
    )
    if result.gold_curve:
        plots["gold"] = line_chart(
            "Consensus error against gold, by number of volunteers",
            [n for n, _, _ in result.gold_curve],
            [e for _, e, _ in result.gold_curve],
            xlabel="volunteers per frame",
            ylabel="mean error (px)",
        )
    return plots


def _review_section(result: Consensus) -> str:
    if not result.review:
        return '<p data-testid="review-none">No frame needs an expert: every frame either settled or is still waiting for labels.</p>'
    rows = "".join(
        f"<tr><td>{html.escape(f.key.video_url)}</td><td>{f.key.frame_index}</td><td>{html.escape('; '.join(f.review))}</td></tr>"
        for f in result.review[:200]
    )
    more = f"<p>The first 200 of {len(result.review)} are listed; the JSON table holds them all.</p>" if len(result.review) > 200 else ""
    return f'<div class="scroll"><table data-testid="review"><tr><th>video</th><th>frame</th><th>why</th></tr>{rows}</table></div>{more}'


def _volunteer_section(result: Consensus) -> str:
    if not result.volunteers:
        return '<p data-testid="volunteers-none">No volunteer has labels in the consensus yet.</p>'
    rows = "".join(
        f"<tr><td>{html.escape(v.volunteer)}</td><td>{v.labels}</td><td>{v.agreement:.2f}</td><td>{v.reliability:.2f}</td>"
        f"<td>{v.swaps}</td><td>{'-' if v.gold_error_px is None else f'{v.gold_error_px:.1f}'}</td></tr>"
        for v in sorted(result.volunteers, key=lambda v: v.reliability)[:50]
    )
    head = "<tr><th>volunteer</th><th>labels</th><th>agreement</th><th>reliability</th><th>swaps</th><th>gold error px</th></tr>"
    return f'<div class="scroll"><table data-testid="volunteers">{head}{rows}</table></div>'


def _model_section(result: Consensus) -> str:
    """The models' error per keypoint against settled points (empty when no suggestion was accepted)."""
    models = [v for v in result.volunteers if v.keypoint_reliability is not None]
    if not models:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(v.volunteer)}</td><td>{html.escape(k)}</td><td>{'-' if e is None else f'{e:.1f}'}</td><td>{n}</td><td>{r:.2f}</td></tr>"
        for v in models
        for k, e, n, r in zip(result.model.keypoints, v.keypoint_error_px or (), v.keypoint_checked or (), v.keypoint_reliability or ())
    )
    head = "<tr><th>model</th><th>keypoint</th><th>error px</th><th>points</th><th>reliability</th></tr>"
    return (
        "<h2>The model's error per keypoint</h2>"
        "<p>Against gold, and settled points placed by volunteers who were not shown its suggestions (those who were place their own mostly where it is wrong); accepted suggestions vote once, as the model.</p>"
        f'<div class="scroll"><table data-testid="model-error">{head}{rows}</table></div>\n'
    )


#: How many example frames the report draws, and the widest thumbnail's pixels (larger pictures are thinned to it).
EXAMPLES = 4
_THUMB_PX = 320
_NEUTRAL, _CENTRE, _CLICK, _OUTLIER = "#bdbdbd", "#54a24b", "#ffffff", "#e45756"

#: A decoded frame (RGB uint8, H×W×3) for an example, or the sentence saying why there is none.
Picture = npt.NDArray[np.uint8] | str


@dataclass(frozen=True)
class ExampleFrame:
    """A frame the report shows as a thumbnail: why it was chosen, its consensus, and its clicks (swaps repaired)."""

    key: FrameKey
    animal: int | None
    width: int
    height: int
    why: str
    centre: tuple[Point, ...]
    agreeing: tuple[Point, ...]
    outlying: tuple[Point, ...]


def example_frames(result: Consensus, count: int = EXAMPLES) -> list[ExampleFrame]:
    """The frames worth a look: those for expert review first, then the most disputed (most outlying clicks), `count` at most.

    The caller decodes these frames' pictures (their `key`) and hands them to `write_report`.
    """
    frames = result.frames
    if not frames or count <= 0:
        return []
    answers = result.answers
    table = answers.table
    placed = np.isfinite(table.clicks[..., 0])
    outlying_rows = (answers.outlying | (placed & ~answers.agrees[:, None])).any(axis=1)
    disputed = np.bincount(table.frame, weights=outlying_rows.astype(float), minlength=len(table.frames))
    where = {(key, table.animal_of.get(i, (None, None))[0]): i for i, key in enumerate(table.frames)}
    ranked = sorted(frames, key=lambda f: (not f.review, -disputed[where[(f.key, f.animal)]], f.key.video_url, f.key.frame_index, f.animal or 0))
    return [_example(result, frame, where[(frame.key, frame.animal)]) for frame in ranked[:count]]


def _example(result: Consensus, frame: FrameConsensus, index: int) -> ExampleFrame:
    answers = result.answers
    table = answers.table
    rows = np.flatnonzero(table.frame == index)
    clicks = table.clicks[rows].copy()
    slot = {k: i for i, k in enumerate(table.keypoints)}
    for p, (a, b) in enumerate(answers.pair_names):
        turned = answers.swapped[rows, p]
        if a in slot and b in slot and turned.any():
            clicks[turned, slot[a]], clicks[turned, slot[b]] = clicks[turned, slot[b]], clicks[turned, slot[a]]
    placed = np.isfinite(clicks[..., 0])
    stray = placed & (answers.outlying[rows] | ~answers.agrees[rows][:, None])
    outlying = len(frame.outliers) + int((answers.outlying[rows] & answers.agrees[rows][:, None]).any(axis=1).sum())
    if frame.review:
        why = "for expert review: " + "; ".join(frame.review)
    else:
        why = f"{outlying} of {frame.labels} label(s) with outlying clicks" if outlying else f"{frame.labels} label(s), none outlying"

    def points(mask: npt.NDArray[np.bool_]) -> tuple[Point, ...]:
        return tuple((float(x), float(y)) for x, y in clicks[mask].tolist())

    return ExampleFrame(
        key=frame.key,
        animal=frame.animal,
        width=frame.width,
        height=frame.height,
        why=why,
        centre=tuple(c for c in frame.centre if c is not None),
        agreeing=points(placed & ~stray),
        outlying=points(stray),
    )


def _thumbnail(example: ExampleFrame, picture: Picture | None) -> str:
    """One example drawn: the picture (thinned to a thumbnail) or a grey frame of its size, clicks and consensus on top."""
    name = f"example-{_slug(example.key.video_url.rsplit('/', 1)[-1])}-{example.key.frame_index}-{example.animal or 0}"
    title = f"{example.key.video_url} frame {example.key.frame_index}"
    scale = _THUMB_PX / max(example.width, example.height, 1)
    with matplotlib.rc_context(_RC):
        figure = Figure(figsize=(max(example.width * scale, 1) / 100, max(example.height * scale, 1) / 100), dpi=100)
        axes = figure.add_axes((0, 0, 1, 1))
        axes.set_axis_off()
        extent = (0.0, float(example.width), float(example.height), 0.0)
        if isinstance(picture, np.ndarray):
            step = max(1, math.ceil(max(picture.shape[:2]) / _THUMB_PX))
            axes.imshow(picture[::step, ::step], extent=extent, interpolation="bilinear")
        else:
            axes.add_patch(Rectangle((0, 0), example.width, example.height, color=_NEUTRAL))
        axes.set_xlim(0, example.width)
        axes.set_ylim(example.height, 0)
        for points, style in (
            (example.agreeing, {"marker": "o", "s": 10, "c": _CLICK, "edgecolors": "black", "linewidths": 0.4}),
            (example.outlying, {"marker": "x", "s": 28, "c": _OUTLIER, "linewidths": 1.5}),
            (example.centre, {"marker": "o", "s": 60, "facecolors": "none", "edgecolors": _CENTRE, "linewidths": 2.0}),
        ):
            if points:
                axes.scatter([x for x, _ in points], [y for _, y in points], **style)
    return _to_svg(figure, name, title)


def _examples_section(result: Consensus, pictures: Mapping[FrameKey, Picture] | None) -> str:
    examples = example_frames(result)
    if not examples:
        return '<p data-testid="examples-none">No frame has labels yet.</p>'
    given = pictures or {}
    figures = []
    for example in examples:
        picture = given.get(example.key, "This frame's video was not read, so its points are drawn on a grey frame of its size.")
        where = f"{example.key.video_url}, frame {example.key.frame_index}" + (f", animal {example.animal}" if example.animal is not None else "")
        note = "" if isinstance(picture, np.ndarray) else f'<br><span data-testid="example-no-video">{html.escape(picture)}</span>'
        figures.append(
            f'<figure data-testid="example">{_thumbnail(example, picture)}'
            f"<figcaption>{html.escape(where)}: {html.escape(example.why)}{note}</figcaption></figure>"
        )
    legend = (
        "<p>Green rings: the consensus; white dots: clicks that agree with it; red crosses: outlying clicks "
        "(left/right swaps repaired).</p>"
    )
    return legend + '<div class="examples">' + "".join(figures) + "</div>"


_STYLE = (
    "body{font-family:sans-serif;margin:1em auto;padding:0 1em;max-width:1200px}"
    "figure{display:inline-block;margin:0.5em;max-width:100%}figure svg{max-width:100%;height:auto}"
    ".examples figure{max-width:340px;vertical-align:top}.examples figcaption{font-size:13px;overflow-wrap:anywhere}"
    ".scroll{overflow-x:auto}table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px;font-size:13px}"
)


def write_report(result: Consensus, folder: Path, *, pictures: Mapping[FrameKey, Picture] | None = None) -> Path:
    """Write the report's `index.html` (plots embedded) into `folder`; returns the page's path.

    `pictures` holds the decoded frames of `example_frames(result)` by key, or a sentence for each one that could not be had.
    """
    folder.mkdir(parents=True, exist_ok=True)
    plots = _plots(result)
    settled = sum(1 for f in result.frames if f.settled)
    figures = "".join(f'<figure data-testid="plot-{name}">{svg}</figure>' for name, svg in plots.items())
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Consensus report</title>
<style>{_STYLE}</style></head>
<body><h1>Consensus report</h1>
<p>{len(result.frames)} frame(s), {settled} settled, {len(result.review)} for expert review;
{len(result.volunteers)} volunteer(s); {sum(f.swaps for f in result.frames)} left/right swap(s) repaired.</p>
{figures}
<h2>Frames for expert review</h2>
{_review_section(result)}
<h2>Example frames</h2>
{_examples_section(result, pictures)}
<h2>Least reliable volunteers</h2>
{_volunteer_section(result)}
{_model_section(result)}</body></html>
"""
    index = folder / "index.html"
    index.write_text(page, encoding="utf-8")
    return index
