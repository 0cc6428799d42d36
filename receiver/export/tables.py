"""The consensus as a per-frame table: plain text for people, JSON and CSV for programs.

Values in, text out: rows are built from `FrameConsensus` values, and the
caller writes them where it wants. It computes no consensus itself.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from receiver.consensus import Consensus, FrameConsensus, VolunteerScore

__all__ = [
    "consensus_csv",
    "consensus_json",
    "consensus_text",
    "animals_document",
    "frame_document",
    "frame_documents",
    "model_documents",
    "models_text",
    "volunteer_document",
    "volunteers_csv",
    "volunteers_text",
]


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
        "score": _round(result.score, 4),
        "gold": result.gold,
        "review": list(result.review),
        "keypoints": _keypoints(result),
        "submissions": _submissions(result),
    }


def animals_document(animals: Sequence[FrameConsensus]) -> dict[str, Any]:
    """One frame of several animals as a JSON-ready object: the frame's fields, then `instances`, one per decided animal with its `keypoints` (and `track`)."""
    first = animals[0]
    records = {s.record_id for animal in animals for s in animal.submissions}
    review = list(dict.fromkeys(reason for animal in animals for reason in animal.review))
    return {
        "video_url": first.key.video_url,
        "frame_index": first.key.frame_index,
        "labels": len(records),
        "inliers": sum(len(animal.inliers) for animal in animals),
        "settled": all(animal.settled for animal in animals),
        "score": _round(sum(animal.score for animal in animals) / len(animals), 4),
        "gold": False,
        "review": review,
        "animals": len(animals),
        "instances": [
            {
                **({"track": animal.track} if animal.track is not None else {}),
                "labels": animal.labels,
                "inliers": len(animal.inliers),
                "settled": animal.settled,
                "score": _round(animal.score, 4),
                "keypoints": _keypoints(animal),
                "submissions": _submissions(animal),
            }
            for animal in animals
        ],
    }


def frame_documents(frames: Iterable[FrameConsensus]) -> Iterator[dict[str, Any]]:
    """Each frame as a JSON-ready object; the animals of a frame of several (consecutive, same key) become one object with `instances`."""
    group: list[FrameConsensus] = []
    for result in frames:
        if group and (result.animal is None or result.key != group[0].key):
            yield animals_document(group)
            group = []
        if result.animal is None:
            yield frame_document(result)
        else:
            group.append(result)
    if group:
        yield animals_document(group)


def _keypoints(result: FrameConsensus) -> dict[str, Any]:
    return {
        name: {
            "x": None if centre is None else _round(centre[0]),
            "y": None if centre is None else _round(centre[1]),
            "spread": _round(spread),
            "agreeing": agreeing,
            "visible": visible,
        }
        for name, centre, spread, agreeing, visible in zip(
            result.keypoints, result.centre, result.spread, result.agreeing, result.visible
        )
    }


def _submissions(result: FrameConsensus) -> list[dict[str, Any]]:
    return [
        {
            "record": s.record_id,
            "submitter": s.submitter,
            "agreement": _round(s.agreement, 4),
            "error": _round(s.error, 5),
            "outlier": s.outlier,
            "outlying_keypoints": list(s.outlying_keypoints),
            "volunteer": s.volunteer,
            "swapped": [list(pair) for pair in s.swapped],
            **({"suggested_only": True} if s.suggested_only else {}),
        }
        for s in result.submissions
    ]


def volunteer_document(volunteer: VolunteerScore) -> dict[str, Any]:
    """One volunteer's row as a JSON-ready object."""
    return {
        "volunteer": volunteer.volunteer,
        "labels": volunteer.labels,
        "agreement": _round(volunteer.agreement, 4),
        "reliability": _round(volunteer.reliability, 4),
        "inlier": _round(volunteer.inlier, 4),
        "tau": _round(volunteer.tau, 3),
        "offset_px": [_round(volunteer.offset_px[0]), _round(volunteer.offset_px[1])],
        "swaps": volunteer.swaps,
        "gold_labels": volunteer.gold_labels,
        "gold_error_px": _round(volunteer.gold_error_px),
        "name": volunteer.name,
    }


def model_documents(volunteers: Iterable[VolunteerScore], keypoints: Sequence[str]) -> list[dict[str, Any]]:
    """Each model (the accepted suggestions of one model version) per keypoint: its learned reliability, its error against settled points, how many points judged it."""
    return [
        {
            "model": v.volunteer,
            "frames": v.labels,
            "gold_error_px": _round(v.gold_error_px),
            "keypoints": {
                k: {"reliability": _round(reliability, 4), "error_px": _round(error), "points": checked}
                for k, reliability, error, checked in zip(keypoints, v.keypoint_reliability, v.keypoint_error_px or (), v.keypoint_checked or ())
            },
        }
        for v in volunteers
        if v.keypoint_reliability is not None
    ]


def models_text(volunteers: Iterable[VolunteerScore], keypoints: Sequence[str]) -> str:
    """Per model and keypoint, its mean error in pixels against settled consensus points and its reliability; '' when no suggestion was accepted."""
    documents = model_documents(volunteers, keypoints)
    if not documents:
        return ""
    rows = [("model", "keypoint", "error px", "points", "reliability")]
    for document in documents:
        for keypoint, row in document["keypoints"].items():
            error = "-" if row["error_px"] is None else f"{row['error_px']:.1f}"
            rows.append((document["model"][:32], keypoint, error, str(row["points"]), f"{row['reliability']:.2f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    head = "The model's error per keypoint, against gold and settled points placed by volunteers not shown its suggestions:\n"
    return head + "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows)


def consensus_json(result: Consensus) -> str:
    """Every frame and volunteer, with the rule and the learned noise that produced them."""
    model = result.model
    document = {
        "rule": vars(result.rule),
        "symmetry": [list(pair) for pair in result.pairs],
        "noise": {k: round(float(s), 6) for k, s in zip(model.keypoints, model.sigma)},
        "frames": list(frame_documents(result.frames)),
        "volunteers": [volunteer_document(v) for v in result.volunteers],
        "review": [{"video_url": f.key.video_url, "frame_index": f.key.frame_index, "why": list(f.review)} for f in result.review],
        "gold_curve": [{"volunteers": n, "error_px": round(e, 3), "frames": c} for n, e, c in result.gold_curve],
        "models": model_documents(result.volunteers, model.keypoints),
    }
    return json.dumps(document, indent=2) + "\n"


def volunteers_csv(volunteers: Sequence[VolunteerScore]) -> str:
    """One row per volunteer: labels, agreement, reliability, honest share, precision, offset, swaps, gold error, shown name."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    header = ["volunteer", "labels", "agreement", "reliability", "inlier", "tau", "offset_x_px", "offset_y_px", "swaps", "gold_labels", "gold_error_px", "name"]
    writer.writerow(header)
    for v in volunteers:
        row = volunteer_document(v)
        gold = "" if row["gold_error_px"] is None else row["gold_error_px"]
        writer.writerow([*(row[h] for h in header[:6]), *row["offset_px"], row["swaps"], row["gold_labels"], gold, row["name"] or ""])
    return buffer.getvalue()


def volunteers_text(volunteers: Sequence[VolunteerScore]) -> str:
    """An aligned plain-text table of volunteers, least reliable first."""
    rows = [("volunteer", "labels", "agreement", "reliability", "swaps", "gold error px")]
    for v in sorted(volunteers, key=lambda v: v.reliability):
        rows.append((v.volunteer[:32], str(v.labels), f"{v.agreement:.2f}", f"{v.reliability:.2f}", str(v.swaps), "-" if v.gold_error_px is None else f"{v.gold_error_px:.1f}"))
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "".join("  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip() + "\n" for row in rows)


def consensus_csv(results: Sequence[FrameConsensus]) -> str:
    """One row per frame: counts, outlier record ids, then x, y and spread per keypoint."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    keypoints = results[0].keypoints if results else ()
    header = ["video_url", "frame_index", "labels", "inliers", "outliers", "settled", "mean_agreement", "outlier_records", "score", "swaps", "review"]
    for name in keypoints:
        header += [f"{name}_x", f"{name}_y", f"{name}_spread", f"{name}_agreeing", f"{name}_visible"]
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
            _round(r.score, 4),
            r.swaps,
            "; ".join(r.review),
        ]
        for centre, spread, agreeing, visible in zip(r.centre, r.spread, r.agreeing, r.visible):
            row += ["" if centre is None else _round(centre[0]), "" if centre is None else _round(centre[1])]
            row += ["" if spread is None else _round(spread), agreeing, "" if visible is None else visible]
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
