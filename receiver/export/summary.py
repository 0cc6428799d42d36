"""What an export did, as a value, and as the few lines printed at its end.

Counts come from the records read and the files skipped; volunteers are
counted as the consensus keys them (`receiver.consensus.volunteer_of`: a
token's name, a session's pseudonym, `anonymous/<id>` for older records), and
the instance count is what the writer wrote, never what was read. The reasons
of the skipped files are listed (the first few, then a count), so a broken
file can be found and fixed. It decides no exit code and writes to no stream.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from receiver.consensus import FrameConsensus, volunteer_of
from receiver.contract.records import Record
from receiver.stores.sources import Skipped

__all__ = ["RecordCounts", "Summary", "render", "summarize"]

_SHOWN = 10


@dataclass(frozen=True)
class Summary:
    frames: int
    videos: int
    labels: int
    labelers: int
    instances: int
    skipped: tuple[Skipped, ...]
    #: Labels sent anonymously with no volunteer id: counted as labels, not as anyone.
    unknown: int = 0
    settled: int | None = None
    outliers: int | None = None


@dataclass
class RecordCounts:
    """Frames, videos and labelers seen so far: what a summary needs of records that are not kept."""

    labels: int = 0
    frames: set[tuple[str, int]] = field(default_factory=set)
    videos: set[str] = field(default_factory=set)
    labelers: set[str] = field(default_factory=set)
    unknown: int = 0

    @classmethod
    def of(cls, records: Iterable[Record]) -> RecordCounts:
        counts = cls()
        for record in records:
            counts.add(record)
        return counts

    def add(self, record: Record) -> None:
        video = record.submission["video_url"]
        self.labels += 1
        self.frames.add((video, record.submission["frame_index"]))
        self.videos.add(video)
        volunteer = volunteer_of(record)
        if volunteer:
            self.labelers.add(volunteer)
        else:
            self.unknown += 1


def summarize(
    counts: RecordCounts,
    skipped: Sequence[Skipped],
    consensus: Sequence[FrameConsensus] | None = None,
    *,
    instances: int = 0,
) -> Summary:
    """The summary of a run; `instances` is what the writer put in the files."""
    return Summary(
        frames=len(counts.frames),
        videos=len(counts.videos),
        labels=counts.labels,
        labelers=len(counts.labelers),
        instances=instances,
        unknown=counts.unknown,
        skipped=tuple(skipped),
        settled=None if consensus is None else sum(1 for c in consensus if c.settled),
        outliers=None if consensus is None else sum(len(c.outliers) for c in consensus),
    )


def render(summary: Summary, *, written: Sequence[str] = (), exported: bool = True, notes: Sequence[str] = ()) -> str:
    """The end-of-run summary, one fact per line; `exported` adds the instance count, `notes` how it was chosen."""
    lines = [f"wrote {path}" for path in written]
    tail = f"; {summary.instances} instance(s) exported" if exported else ""
    lines.append(
        f"{summary.labels} labels by {summary.labelers} volunteer(s) on {summary.frames} frame(s) "
        f"of {summary.videos} video(s){tail}"
    )
    if summary.unknown:
        lines.append(f"{summary.unknown} of the labels came from anonymous pages that named no volunteer")
    lines += notes
    if summary.settled is not None:
        lines.append(f"consensus: {summary.settled} of {summary.frames} frame(s) settled, {summary.outliers} outlier label(s)")
    if summary.skipped:
        lines.append(f"skipped {len(summary.skipped)} file(s) that failed validation:")
        lines += [f"  {s.path}: {s.reason}" for s in summary.skipped[:_SHOWN]]
        if len(summary.skipped) > _SHOWN:
            lines.append(f"  ... and {len(summary.skipped) - _SHOWN} more (run `receiver validate` on the source for all)")
    else:
        lines.append("skipped 0 files")
    return "\n".join(lines) + "\n"
