"""The consensus as a per-frame table: plain text for people, JSON and CSV for programs.

Values in, text out: rows are built from `FrameConsensus` values, and the
caller writes them where it wants. It computes no consensus itself.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from typing import Any

from receiver.consensus import ConsensusRule, FrameConsensus

__all__ = ["consensus_csv", "consensus_json", "consensus_text", "frame_document"]


def _round(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def frame_document(result: FrameConsensus) -> dict[str, Any]:
    """One frame's consensus as a JSON-ready object."""
    return {
        "video_url": result.key.video_url,
        "frame_index": result.key.frame_index,
        "labels": result.labels,
        "inliers": len(result.inliers),
        "settled": result.settled,
        "keypoints": {
            name: {
                "x": None if centre is None else _round(centre[0]),
                "y": None if centre is None else _round(centre[1]),
                "spread": _round(spread),
            }
            for name, centre, spread in zip(result.keypoints, result.centre, result.spread)
        },
        "submissions": [
            {
                "record": s.record_id,
                "submitter": s.submitter,
                "agreement": _round(s.agreement, 4),
                "error": _round(s.error, 5),
                "outlier": s.outlier,
                "outlying_keypoints": list(s.outlying_keypoints),
            }
            for s in result.submissions
        ],
    }


def consensus_json(results: Sequence[FrameConsensus], rule: ConsensusRule) -> str:
    """Every frame, with the rule that produced it."""
    document = {"rule": vars(rule), "frames": [frame_document(r) for r in results]}
    return json.dumps(document, indent=2) + "\n"


def consensus_csv(results: Sequence[FrameConsensus]) -> str:
    """One row per frame: counts, outlier record ids, then x, y and spread per keypoint."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keypoints = results[0].keypoints if results else ()
    header = ["video_url", "frame_index", "labels", "inliers", "outliers", "settled", "mean_agreement", "outlier_records"]
    for name in keypoints:
        header += [f"{name}_x", f"{name}_y", f"{name}_spread"]
    writer.writerow(header)
    for r in results:
        row: list[Any] = [
            r.key.video_url,
            r.key.frame_index,
            r.labels,
            len(r.inliers),
            len(r.outliers),
            r.settled,
            _round(_mean_agreement(r), 4),
            " ".join(s.record_id for s in r.outliers),
        ]
        for centre, spread in zip(r.centre, r.spread):
            row += ["" if centre is None else _round(centre[0]), "" if centre is None else _round(centre[1])]
            row.append("" if spread is None else _round(spread))
        writer.writerow(row)
    return buffer.getvalue()


def consensus_text(results: Sequence[FrameConsensus]) -> str:
    """An aligned plain-text table, one line per frame."""
    header = ("video", "frame", "labels", "inliers", "outliers", "settled", "agreement", "spread px")
    rows = [header]
    for r in results:
        spreads = [s for s in r.spread if s is not None]
        rows.append(
            (
                _short_url(r.key.video_url),
                str(r.key.frame_index),
                str(r.labels),
                str(len(r.inliers)),
                ", ".join(s.submitter for s in r.outliers) or "-",
                "yes" if r.settled else "no",
                f"{_mean_agreement(r):.2f}",
                f"{max(spreads):.1f}" if spreads else "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows)


def _mean_agreement(result: FrameConsensus) -> float:
    scores = [s.agreement for s in result.submissions]
    return sum(scores) / len(scores) if scores else 0.0


def _short_url(url: str) -> str:
    tail = url.rstrip("/").rsplit("/", 1)[-1]
    return tail if len(tail) <= 24 else tail[:10] + "..." + tail[-10:]
