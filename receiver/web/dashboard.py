"""The dashboard: one HTML page a maintainer can look at, drawn on the server.

No JavaScript and nothing from another host: the charts are inline SVG, so
the page works behind any proxy and in any browser. `render_dashboard` is a
pure function of `DashboardFacts`; gathering the facts (journal, frame
ledger, consensus) is the app's job. Every text that came from outside (a
video URL, an error message, a PR URL) is HTML-escaped.
"""

from __future__ import annotations

import base64
import hashlib
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from html import escape
from typing import Any

from receiver.contract.records import Record
from receiver.volunteers.model_check import ModelFigures

__all__ = ["STYLE_SOURCE", "AgreementSummary", "DashboardFacts", "keypoint_agreement", "render_dashboard"]

Coverage = tuple[str, int, list[tuple[int, int, int]]]


@dataclass(frozen=True)
class DashboardFacts:
    """What the dashboard shows, gathered at one moment."""

    now: datetime
    health: dict[str, Any]
    per_hour: list[tuple[str, int]]
    pulls: list[tuple[int, str, str]]
    coverage: list[Coverage]
    agreement: dict[str, float] | None
    #: The model beside the crowd, when predictions are loaded (None: the section is left out).
    model: ModelFigures | None = None


def keypoint_agreement(records: Sequence[Record], keypoints: Sequence[str], symmetry: Iterable[tuple[str, str]] = ()) -> dict[str, float] | None:
    """Per keypoint, the share of volunteers whose point agrees with their frame's consensus (settled frames only).

    None while no frame has settled: the dashboard then says so instead of drawing empty bars.
    """
    if not records:
        return None
    from receiver.consensus import consensus

    result = consensus(records, keypoints, symmetry=symmetry)
    settled = [frame for frame in result.frames if frame.settled]
    if not settled:
        return None
    volunteers = sum(len(frame.submissions) for frame in settled)
    return {k: sum(frame.agreeing[i] for frame in settled) / volunteers for i, k in enumerate(keypoints)}


class AgreementSummary:
    """The per-keypoint agreement, recomputed at most once per `every` seconds, by one thread at a time.

    A consensus over the latest records costs far more than a dashboard request
    may: requests read the last summary, and the one that finds it stale
    recomputes it while the others go on reading the previous one.
    """

    def __init__(self, compute: Callable[[], dict[str, float] | None], clock: Callable[[], float], *, every: float = 30.0) -> None:
        self._compute = compute
        self._clock = clock
        self._every = every
        self._lock = threading.Lock()
        self._value: dict[str, float] | None = None
        self._at: float | None = None

    def read(self) -> dict[str, float] | None:
        """The summary; recomputed here first when it is older than `every` and no other thread is at it."""
        if self._at is not None and self._clock() - self._at < self._every:
            return self._value
        if not self._lock.acquire(blocking=self._at is None):
            return self._value
        try:
            if self._at is None or self._clock() - self._at >= self._every:
                self._value, self._at = self._compute(), self._clock()
            return self._value
        finally:
            self._lock.release()


_STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1b1f24;background:#fafafa}
h1{font-size:1.4rem;margin:0 0 .2rem} h2{font-size:1.05rem;margin:1.4rem 0 .4rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem} .card{background:#fff;border:1px solid #d8dee4;border-radius:6px;padding:.6rem .9rem;min-width:9rem}
.card b{display:block;font-size:1.5rem} .ok{color:#1a7f37} .bad{color:#cf222e} .muted{color:#57606a}
table{border-collapse:collapse;background:#fff} td,th{border:1px solid #d8dee4;padding:.25rem .5rem;text-align:left}
svg{background:#fff;border:1px solid #d8dee4;border-radius:4px;max-width:100%}
.legend span{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 .8rem;vertical-align:middle}
.legend .retired{background:#2da44e} .legend .labelled{background:#f2cc60} .legend .untouched{background:#d8dee4}
"""

#: The page's one <style> element as a Content-Security-Policy source: its hash, so no other inline style is allowed.
STYLE_SOURCE = "'sha256-" + base64.b64encode(hashlib.sha256(_STYLE.encode("utf-8")).digest()).decode("ascii") + "'"

_UNTOUCHED, _LABELLED, _RETIRED = "#d8dee4", "#f2cc60", "#2da44e"


def _card(label: str, value: object, tone: str = "") -> str:
    return f'<div class="card" data-testid="card-{escape(label.lower().replace(" ", "-"))}"><b class="{tone}">{escape(str(value))}</b>{escape(label)}</div>'


def _hours(facts: DashboardFacts) -> list[tuple[str, int]]:
    """The last 24 hours, oldest first, with the hours nothing arrived in as zero."""
    counts = dict(facts.per_hour)
    top = facts.now.astimezone(timezone.utc).replace(minute=0, second=0, microsecond=0)
    hours = [(top - timedelta(hours=h)).strftime("%Y-%m-%dT%H") for h in range(23, -1, -1)]
    return [(hour, counts.get(hour, 0)) for hour in hours]


def _per_hour_chart(facts: DashboardFacts) -> str:
    hours = _hours(facts)
    tallest = max((n for _, n in hours), default=0) or 1
    width, height, bar = 24 * 22 + 40, 170, 18
    parts = [f'<svg data-testid="per-hour" width="{width}" height="{height}" viewBox="0 0 {width} {height}" role="img" aria-label="submissions per hour">']
    for i, (hour, n) in enumerate(hours):
        h = round(130 * n / tallest)
        x = 30 + i * 22
        parts.append(f'<rect class="bar" x="{x}" y="{140 - h}" width="{bar}" height="{h}" fill="#0969da"><title>{escape(hour)}:00 UTC: {n}</title></rect>')
        if i % 6 == 0:
            parts.append(f'<text x="{x}" y="158" font-size="10" fill="#57606a">{escape(hour[11:13])}h</text>')
    parts.append(f'<text x="2" y="14" font-size="10" fill="#57606a">{tallest}</text><line x1="28" y1="140" x2="{width - 6}" y2="140" stroke="#8c959f"/></svg>')
    return "".join(parts)


def _coverage_picture(url: str, frames: int, cells: list[tuple[int, int, int]]) -> str:
    width = 600
    step = width / max(1, len(cells))
    parts = [f'<svg class="coverage" width="{width}" height="26" viewBox="0 0 {width} 26" role="img" aria-label="coverage of {escape(url)}">']
    for i, (n, labelled, retired) in enumerate(cells):
        if n == 0:
            continue
        x = i * step
        # Each cell is a run of frames: green for its retired share, yellow for labelled, grey for untouched.
        for share, colour, offset in ((retired / n, _RETIRED, 0.0), ((labelled - retired) / n, _LABELLED, retired / n)):
            if share > 0:
                parts.append(f'<rect x="{x:.2f}" y="{24 * (1 - offset - share):.2f}" width="{step:.2f}" height="{24 * share:.2f}" fill="{colour}"/>')
        parts.append(f'<rect x="{x:.2f}" y="0" width="{step:.2f}" height="{24 * (1 - labelled / n):.2f}" fill="{_UNTOUCHED}"/>')
    parts.append("</svg>")
    return "".join(parts)


def _agreement_chart(agreement: dict[str, float]) -> str:
    rows = len(agreement)
    parts = [f'<svg data-testid="agreement" width="460" height="{rows * 24 + 10}" role="img" aria-label="agreement per keypoint">']
    for i, (keypoint, share) in enumerate(agreement.items()):
        y = 6 + i * 24
        parts.append(f'<text x="4" y="{y + 13}" font-size="12">{escape(keypoint)}</text>')
        parts.append(f'<rect x="130" y="{y}" width="{round(280 * share)}" height="16" fill="#8250df"/>')
        parts.append(f'<text x="{136 + round(280 * share)}" y="{y + 13}" font-size="11" fill="#57606a">{share:.0%}</text>')
    parts.append("</svg>")
    return "".join(parts)


def _model_section(figures: ModelFigures) -> str:
    """The model's agreement with the settled crowd per keypoint (one table per model version), and how frames were settled."""
    settled = figures.from_suggestions + figures.from_scratch
    cards = _card("Settled from suggestions", figures.from_suggestions) + _card("Settled from scratch", figures.from_scratch)
    if not figures.agreement:
        tables = '<p class="muted">No frame with a prediction has settled yet: the model\'s agreement shows once one does.</p>'
    else:
        tables = "".join(
            f'<table data-testid="model-agreement" data-model="{escape(model)}"><tr><th>Keypoint ({escape(model)})</th><th>Agrees with the crowd</th><th>Frames</th></tr>'
            + "".join(
                f'<tr data-keypoint="{escape(keypoint)}"><td>{escape(keypoint)}</td><td>{agree / total:.0%}</td><td>{agree} of {total}</td></tr>'
                for keypoint, (agree, total) in keypoints.items()
            )
            + "</table>"
            for model, keypoints in figures.agreement.items()
        )
    note = f'<p class="muted">{settled} frame(s) settled; a suggestion accepted by several volunteers counts as one vote, the model\'s.</p>'
    return f'<h2>The model and the crowd</h2><div class="cards">{cards}</div>{note}{tables}'


def render_dashboard(facts: DashboardFacts) -> str:
    """The whole page for these facts."""
    health = facts.health
    journal, store, delivery = health["journal"], health["store"], health["delivery"]
    tone = "ok" if health["status"] == "ok" else "bad"
    cards = [
        _card("Delivery", delivery["state"], tone),
        _card("Backlog", journal["backlog"]),
        _card("Delivered", journal.get("delivered", 0)),
        _card("Failed", health["failed"]["count"], "bad" if health["failed"]["count"] else ""),
        _card("Held for review", journal.get("held", 0)),
    ]
    if "writes_left_this_hour" in store:
        cards.append(_card("GitHub writes left this hour", store["writes_left_this_hour"]))
    if "writes_sent" in store:
        cards.append(_card("GitHub writes sent", store["writes_sent"]))
    reason = f'<p class="bad">{escape(str(delivery["reason"]))}</p>' if delivery.get("reason") else ""
    pulls = "".join(
        f'<tr><td><a href="{escape(url)}">#{number}</a></td><td>{escape(state)}</td></tr>' for number, url, state in facts.pulls
    ) or '<tr><td colspan="2" class="muted">no pull requests yet</td></tr>'
    coverage = "".join(
        f'<div class="video" data-testid="coverage"><div class="muted">{escape(url)} · {frames} frames · '
        f"{sum(c[2] for c in cells)} retired, {sum(c[1] for c in cells)} labelled</div>{_coverage_picture(url, frames, cells)}</div>"
        for url, frames, cells in facts.coverage
    ) or '<p class="muted">No videos are configured (RECEIVER_VIDEOS).</p>'
    agreement = (
        _agreement_chart(facts.agreement)
        if facts.agreement
        else '<p class="muted">No frame has settled yet: agreement shows once volunteers agree on a frame.</p>'
    )
    legend = '<p class="legend"><span class="retired"></span>retired<span class="labelled"></span>labelled<span class="untouched"></span>untouched</p>'
    stamp = facts.now.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>Receiver dashboard</title><style>{_STYLE}</style></head><body>"
        f'<h1>Receiver dashboard</h1><p class="muted">{escape(str(health["message"]))} Version {escape(str(health["version"]))}, {stamp}.</p>'
        f'<div class="cards">{"".join(cards)}</div>{reason}'
        f"<h2>Submissions per hour, last 24 hours</h2>{_per_hour_chart(facts)}"
        f"<h2>Coverage per video</h2>{legend}{coverage}"
        f"<h2>Agreement per keypoint</h2>{agreement}"
        f"{_model_section(facts.model) if facts.model is not None else ''}"
        f'<h2>Recent pull requests</h2><table data-testid="pulls"><tr><th>Pull request</th><th>State</th></tr>{pulls}</table>'
        "</body></html>"
    )
