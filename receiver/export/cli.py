"""The `receiver export` and `receiver consensus` subcommands: read a source, decide, write, summarize.

Each command is a function (args, environ, out, err) -> exit code, like the
others in `receiver.cli`; `add_commands` registers them on its subparsers.
Exit codes: 0 done, 1 nothing to export or the output could not be written,
2 a usage problem (a missing source, a bad option, the extra not installed).
Heavy packages are imported only once a command runs.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

if TYPE_CHECKING:
    from receiver.contract.records import Record
    from receiver.export.labels import Submissions
    from receiver.stores.sources import Skipped, Source

__all__ = ["add_commands"]

T = TypeVar("T")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

#: Suffixes that say "a file": a folder format given one of them was asked for something it does not write.
_FILE_SUFFIXES = frozenset({".h5", ".csv", ".json", ".yaml", ".yml", ".txt", ".slp", ".nwb"})

_SOURCE_HELP = (
    "an annotations/ folder, or a git repository (bare or not; its default branch is read without a checkout). "
    "Default: the receiver's store, RECEIVER_LOCAL_REPO or receiver-data/annotations.git; with RECEIVER_STORE=github, "
    "its data repository, fetched with git into a cache beside it"
)


#: (environ, frames) -> the model's imported predictions of those frames, in skeleton order; {} when the receiver holds none.
Predictions = Callable[[Mapping[str, str], Sequence[tuple[str, int]]], Mapping[tuple[str, int], Sequence[Any]]]


def _no_predictions(environ: Mapping[str, str], frames: Sequence[tuple[str, int]]) -> Mapping[tuple[str, int], Sequence[Any]]:
    return {}


def add_commands(commands: Any, *, own_store: Callable[[Mapping[str, str]], Path], own_predictions: Predictions = _no_predictions) -> None:
    """Register `export` and `consensus` on the `receiver` command's subparsers.

    `own_store` finds the receiver's own repository from the environment, the
    source read when none is named; it raises `ValueError` with a sentence when
    the settings cannot be read. `own_predictions` reads the predictions the
    receiver imported (`receiver predictions import`), which `--where
    model-wrong` compares with the consensus.
    """
    from receiver.export.formats import FORMATS

    formats = "\n".join(f"  {f.name:<12} {f.help}" for f in FORMATS.values())
    export = commands.add_parser(
        "export",
        help="turn stored records into training data (SLEAP, COCO, DeepLabCut, ...)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Read every record of SOURCE, skip (and list) the ones that fail validation, and write the rest "
            "with sleap-io in one training format, with the labeled frames decoded from the videos in --videos. A frame "
            "labeled by several volunteers gets one instance, its medoid label, unless --consensus or --all-labels. "
            "Needs the export extra: pip install 'pose-receiver[export]'."
        ),
        epilog="formats:\n" + formats,
    )
    export.add_argument("source", nargs="?", type=Path, metavar="SOURCE", help=_SOURCE_HELP)
    export.add_argument("--format", required=True, choices=tuple(FORMATS), help="output format (see below)")
    export.add_argument(
        "--out", required=True, type=Path, metavar="PATH", help="the file to write, or for coco, dlc and yolo the folder to fill"
    )
    export.add_argument(
        "--consensus", action="store_true", help="write one consensus instance per settled frame instead of each frame's medoid label"
    )
    export.add_argument(
        "--all-labels",
        action="store_true",
        help="every volunteer's label of a frame, each with who made it (slp, coco, csv, labelstudio); "
        "by default a frame gets one instance, its medoid label (the one closest to the frame's other labels)",
    )
    export.add_argument("--embed", action="store_true", help="slp: embed the labeled frames (write a .pkg.slp that needs no video)")
    export.add_argument(
        "--videos",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="a folder holding the videos (found by the file name of each record's video_url); repeat for several",
    )
    export.add_argument(
        "--no-frames", action="store_true", help="coco, dlc: write the labels alone, without extracting the frames"
    )
    export.add_argument("--force", action="store_true", help="write into an --out folder that already holds files (nothing is deleted)")
    export.add_argument("--settle", type=int, default=3, metavar="K", help="agreeing labels that settle a frame (default 3)")
    export.add_argument(
        "--settled-only", action="store_true", help="with --consensus: kept for old scripts; frames not settled have no consensus and are always left out"
    )
    export.add_argument(
        "--where",
        choices=("model-wrong",),
        help="model-wrong: only the settled frames where the model is wrong, the most wrong first, as consensus instances: a frame "
        "qualifies when on some keypoint the consensus and the model's point lie more than --threshold px apart, and frames are "
        "ranked by that largest distance. The model's points are the predictions `receiver predictions import` loaded, or else "
        "the suggestions volunteers accepted",
    )
    export.add_argument(
        "--threshold", type=float, default=10.0, metavar="PX", help="with --where model-wrong: the distance in pixels that makes the model wrong (default 10)"
    )
    export.add_argument("--skeleton", type=Path, help="skeleton file (default: the project's)")
    export.set_defaults(run=_export, own_store=own_store, own_predictions=own_predictions)

    consensus = commands.add_parser(
        "consensus",
        help="per-frame consensus and per-volunteer reliability, learned from the crowd",
        description=(
            "Learns each keypoint's noise and each volunteer's reliability from every record, repairs left/right "
            "swaps (the skeleton's symmetry pairs), and gives every frame a consensus with its uncertainty, or none "
            "when fewer than K volunteers agree. Prints the frame and volunteer tables; --out also writes them "
            "(FILE.json holds both; FILE.csv is the frames and FILE-volunteers.csv beside it); --report DIR writes "
            "an HTML page with plots."
        ),
    )
    consensus.add_argument("source", nargs="?", type=Path, metavar="SOURCE", help=_SOURCE_HELP)
    consensus.add_argument("--out", type=Path, metavar="FILE", help="also write the table to FILE.json or FILE.csv")
    consensus.add_argument("--settle", type=int, default=3, metavar="K", help="agreeing labels that settle a frame (default 3)")
    consensus.add_argument("--skeleton", type=Path, help="skeleton file (default: the project's)")
    consensus.add_argument("--report", type=Path, metavar="DIR", help="write an HTML report with SVG plots into DIR")
    consensus.add_argument(
        "--videos",
        action="append",
        type=Path,
        default=[],
        metavar="DIR",
        help="with --report: a folder holding the videos, to draw the example frames over their pictures; repeat for several",
    )
    consensus.add_argument(
        "--gold", type=Path, metavar="PATH", help="expert labels: a folder or git repository of records, or a JSON file of records"
    )
    consensus.add_argument(
        "--gold-from", metavar="NAME", help="records whose submitter (token name) is NAME are expert labels, not votes"
    )
    consensus.set_defaults(run=_consensus, own_store=own_store)


def _open(name: str, args: argparse.Namespace, environ: Mapping[str, str], err: TextIO) -> tuple[Source, Any] | int:
    """The source to read and the skeleton, or an exit code after saying what went wrong."""
    from receiver.contract.schemas import SkeletonError, load_skeleton
    from receiver.stores.sources import SourceError, open_source

    source_path = args.source
    if source_path is None:
        try:
            source_path = args.own_store(environ)
        except ValueError as exc:
            err.write(f"receiver {name}: {exc}\n")
            return EXIT_USAGE
    try:
        skeleton = load_skeleton(args.skeleton) if args.skeleton else load_skeleton()
        return open_source(source_path), skeleton
    except (SkeletonError, SourceError) as exc:
        err.write(f"receiver {name}: {exc}\n")
        return EXIT_USAGE


def _nothing_valid(name: str, source: Source, skipped: Sequence[Skipped], err: TextIO) -> int:
    reason = f"; {len(skipped)} file(s) failed validation" if skipped else ""
    err.write(f"receiver {name}: no valid records in {source.describe()}{reason}\n")
    err.writelines(f"  {item.path}: {item.reason}\n" for item in skipped[:10])
    return EXIT_FAILED


def _read_table(name: str, source: Source, skeleton: Any, err: TextIO, *, aside: str | None = None) -> tuple[Any, Reading] | int:
    """The source streamed into a click table, and what was seen on the way; or an exit code.

    Records by `aside` (the expert of --gold-from) are kept apart, out of the table.
    """
    from receiver.consensus import records_table

    keypoints = [k.id for k in skeleton.keypoints]
    return _read_into(name, source, skeleton, err, lambda records: records_table(records, keypoints, symmetry=skeleton.symmetry), aside=aside, votes_only=True)


def _read_into(
    name: str,
    source: Source,
    skeleton: Any,
    err: TextIO,
    consume: Callable[[Iterator[Record]], T],
    *,
    aside: str | None = None,
    votes_only: bool = False,
) -> tuple[T, Reading] | int:
    """What `consume` makes of the source's valid records, and what was seen on the way; or an exit code.

    The records go by one at a time: only what `consume` keeps of them and the
    counts are held, never the records. With `votes_only` (a consensus), a
    session's label of a frame that was not leased to it is counted aside, not
    voted: one network's made-up sessions cannot outvote the volunteers the
    receiver handed the frame to.
    """
    from receiver.contract.validation import Validator
    from receiver.export.progress import progress_bar
    from receiver.stores.sources import SourceError, stream

    reading = Reading()
    try:
        with progress_bar(err, f"reading {source.describe()}") as step:
            made = consume(reading.crowd(stream(source, Validator(skeleton), step), aside, votes_only=votes_only))
    except SourceError as exc:
        err.write(f"receiver {name}: {exc}\n")
        return EXIT_USAGE
    if not reading.counts.labels and not reading.aside:
        return _nothing_valid(name, source, reading.skipped, err)
    return made, reading


class Reading:
    """What a streamed read saw besides the table: counts, video sizes, skipped files, the records set aside."""

    def __init__(self) -> None:
        from receiver.export.labels import VideoSizes
        from receiver.export.summary import RecordCounts

        self.counts = RecordCounts()
        self.videos = VideoSizes()
        self.skipped: list[Skipped] = []
        self.aside: list[Record] = []
        #: Labels a session sent for a frame not leased to it, left out of a consensus.
        self.unassigned = 0

    def crowd(self, items: Iterator[Record | Skipped], aside: str | None, *, votes_only: bool = False) -> Iterator[Record]:
        from receiver.contract.records import Record

        for item in items:
            if not isinstance(item, Record):
                self.skipped.append(item)
            elif aside and item.submitter == aside:
                self.aside.append(item)
            elif votes_only and item.volunteer is not None and not item.assigned:
                self.unassigned += 1
            else:
                self.counts.add(item)
                self.videos.add(item)
                yield item


def _rule(name: str, settle: int, err: TextIO) -> Any:
    from receiver.consensus import ConsensusRule

    try:
        return ConsensusRule(settle=settle)
    except ValueError as exc:
        err.write(f"receiver {name}: --settle: {exc}\n")
        return None


def _export(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    from receiver.consensus import consensus_of_table
    from receiver.export.extra import MissingExtra, require
    from receiver.export.formats import FORMATS, OutputError, prepare_folder
    from receiver.export.frames import VideoError
    from receiver.export.labels import consensus_labels, submission_labels
    from receiver.export.progress import progress_bar
    from receiver.export.summary import render, summarize

    rule = _rule("export", args.settle, err)
    if rule is None:
        return EXIT_USAGE
    fmt = FORMATS[args.format]
    problem = _option_problem(args, fmt)
    if problem:
        err.write(f"receiver export: {problem}\n")
        return EXIT_USAGE
    try:
        require("sleap_io")
    except MissingExtra as exc:
        err.write(f"receiver export: {exc}\n")
        return EXIT_USAGE
    try:
        if fmt.folder:
            # Refused before anything is read: an occupied folder is a mistake to hear about at once.
            prepare_folder(args.out, force=args.force)
    except OutputError as exc:
        err.write(f"receiver export: {exc}\n")
        return EXIT_USAGE
    opened = _open("export", args, environ, err)
    if isinstance(opened, int):
        return opened
    source, skeleton = opened
    results = None
    notes: list[str] = []
    if args.where == "model-wrong":
        streamed = _read_table("export", source, skeleton, err)
        if isinstance(streamed, int):
            return streamed
        table, reading = streamed
        results = consensus_of_table(table, rule, symmetry=skeleton.symmetry).frames
        wrong = _model_wrong(args, environ, table, results)
        if not wrong:
            err.write(
                f"receiver export: no settled frame where the model is more than {args.threshold:g} px from the consensus "
                "(the model's points: imported predictions, or the suggestions volunteers accepted); nothing was written\n"
            )
            return EXIT_FAILED
        labels = consensus_labels([d.frame for d in wrong], reading.videos.infos(), skeleton, keep_order=True)
        out.write(f"model-wrong: {len(wrong)} frame(s), the model's largest distance to the consensus first:\n")
        out.writelines(f"  {d.frame.key.video_url} frame {d.frame.key.frame_index}: {d.distance_px:.1f} px ({d.keypoint})\n" for d in wrong)
    elif args.consensus:
        # One instance per frame, from the click table.
        streamed = _read_table("export", source, skeleton, err)
        if isinstance(streamed, int):
            return streamed
        table, reading = streamed
        results = consensus_of_table(table, rule, symmetry=skeleton.symmetry).frames
        labels = consensus_labels(results, reading.videos.infos(), skeleton)
    else:
        gathered = _read_into("export", source, skeleton, err, lambda records: _gather(records, skeleton))
        if isinstance(gathered, int):
            return gathered
        submissions, reading = gathered
        keep = "all" if args.all_labels else "one"
        labels = submission_labels(submissions, skeleton, keep=keep)
        if keep == "one" and submissions.crowded:
            notes.append(
                "frames labeled more than once: each exported the medoid label (the one closest to the frame's other labels); "
                "--consensus for a consensus instead, --all-labels for every label"
            )
    counts, skipped = reading.counts, reading.skipped
    try:
        target = _target(args, fmt, labels, skeleton)
        with progress_bar(err, f"writing {args.out.name}") as step:
            step(0, None)
            if not args.out.parent.exists():
                args.out.parent.mkdir(parents=True)
            written = fmt.write(labels, target)
    except (VideoError, OutputError) as exc:
        err.write(f"receiver export: {exc}\n")
        return EXIT_FAILED
    except OSError as exc:
        err.write(f"receiver export: cannot write {exc.filename or args.out}: {exc.strerror or exc}; check the folder exists and is writable\n")
        return EXIT_FAILED
    if written.images:
        notes.append(f"{written.images} frame image(s) extracted")
    shown = [f"{path} ({fmt.name})" for path in written.paths[:3]]
    out.write(render(summarize(counts, skipped, results, instances=written.instances), written=shown, notes=notes))
    return EXIT_OK


def _model_wrong(args: argparse.Namespace, environ: Mapping[str, str], table: Any, results: Sequence[Any]) -> list[Any]:
    """The settled frames where the model is wrong, most first: its imported predictions where there are some, else its accepted suggestions."""
    from receiver.consensus import FrameKey
    from receiver.consensus.disagreement import model_wrong, suggested_points

    points: dict[Any, Any] = dict(suggested_points(table))
    settled = [(r.key.video_url, r.key.frame_index) for r in results if r.settled and r.animal is None]
    for (url, index), predicted in args.own_predictions(environ, settled).items():
        points[FrameKey(url, index)] = tuple(predicted)
    return model_wrong(results, points, threshold_px=args.threshold)


def _option_problem(args: argparse.Namespace, fmt: Any) -> str | None:
    """What is wrong with this combination of options, as a sentence; None when nothing is."""
    if args.where and args.all_labels:
        return "--where model-wrong exports one consensus instance per frame; leave out --all-labels"
    if args.threshold <= 0:
        return f"--threshold {args.threshold:g}: give a distance in pixels above 0"
    if args.settled_only and not args.consensus:
        return "--settled-only needs --consensus"
    if args.embed and fmt.name != "slp":
        return f"--embed is for --format slp; {fmt.name} {'carries its frames as image files' if fmt.frames else 'holds no frames'}"
    if args.all_labels and args.consensus:
        return "--all-labels and --consensus ask for different things: every label, or one consensus per frame; pick one"
    if args.all_labels and not fmt.keeps_all:
        return (
            f"--format {fmt.name} keeps one instance per animal and frame, so several volunteers' labels would read as "
            "several animals; leave out --all-labels (each frame gets its medoid label) or use slp or coco"
        )
    if args.no_frames and fmt.name == "yolo":
        return "--format yolo cannot be written without its frames; leave out --no-frames and pass --videos DIR"
    if not fmt.folder and args.out.is_dir():
        return f"--out {args.out} is a folder; --format {fmt.name} writes a file: name the file"
    if fmt.folder and args.out.suffix.lower() in _FILE_SUFFIXES:
        return (
            f"--format {fmt.name} writes a folder (annotations and frames together), and --out {args.out} names a "
            f"{args.out.suffix} file; name a folder, e.g. --out {args.out.with_suffix('')}"
        )
    return None


def _target(args: argparse.Namespace, fmt: Any, labels: Any, skeleton: Any) -> Any:
    """Where and how to write: with the labeled frames when the format carries them (`VideoError` when a video is not here)."""
    from receiver.export.formats import Target
    from receiver.export.frames import attach, extract, locate, reference, wanted

    if fmt.name == "nwb":
        reference(labels, locate([str(v.filename) for v in labels.videos], args.videos))
        return Target(args.out, skeleton)
    needs_frames = fmt.frames and not args.no_frames and (fmt.name != "slp" or args.embed)
    if not needs_frames:
        return Target(args.out, skeleton)
    files = locate([str(v.filename) for v in labels.videos], args.videos)

    def frames(part: Any, destination: Callable[[str, int], Path]) -> dict[tuple[str, int], Path]:
        images = extract(wanted(part), files, destination)
        attach(part, images, files)
        return images

    return Target(args.out, skeleton, frames=frames, embed=args.embed)


def _gather(records: Iterator[Record], skeleton: Any) -> Submissions:
    from receiver.export.labels import Submissions

    gathered = Submissions(skeleton)
    for record in records:
        gathered.add(record)
    return gathered


def _consensus(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    """The consensus of the source, streamed (`_read_table`); --gold and --gold-from give the expert's labels."""
    from receiver.consensus import consensus_of_table
    from receiver.consensus.gold import gold_points
    from receiver.consensus.report import example_frames, write_report
    from receiver.contract.validation import Validator
    from receiver.export.gold import GoldError, read_gold
    from receiver.export.pictures import example_pictures
    from receiver.export.summary import render, summarize
    from receiver.export.tables import consensus_csv, consensus_json, consensus_text, models_text, volunteers_csv, volunteers_text

    rule = _rule("consensus", args.settle, err)
    if rule is None:
        return EXIT_USAGE
    suffix = args.out.suffix.lower() if args.out else None
    if suffix not in (None, ".json", ".csv"):
        err.write(f"receiver consensus: --out {args.out}: name a .json or .csv file\n")
        return EXIT_USAGE
    opened = _open("consensus", args, environ, err)
    if isinstance(opened, int):
        return opened
    source, skeleton = opened
    gold: list[Record] = []
    try:
        if args.gold is not None:
            gold += read_gold(args.gold, Validator(skeleton))
    except GoldError as exc:
        err.write(f"receiver consensus: --gold: {exc}\n")
        return EXIT_USAGE
    streamed = _read_table("consensus", source, skeleton, err, aside=args.gold_from)
    if isinstance(streamed, int):
        return streamed
    table, reading = streamed
    keypoints = [k.id for k in skeleton.keypoints]
    counts, skipped, expert = reading.counts, reading.skipped, reading.aside
    result = consensus_of_table(table, rule, symmetry=skeleton.symmetry, gold=gold_points(gold + expert, keypoints) or None)
    out.write(consensus_text(result.frames))
    out.write(volunteers_text(result.volunteers))
    out.write(models_text(result.volunteers, keypoints))
    written = []
    try:
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            if suffix == ".json":
                args.out.write_text(consensus_json(result), encoding="utf-8")
                written.append(str(args.out))
            else:
                args.out.write_text(consensus_csv(result.frames), encoding="utf-8")
                beside = args.out.with_name(args.out.stem + "-volunteers.csv")
                beside.write_text(volunteers_csv(result.volunteers), encoding="utf-8")
                written += [str(args.out), str(beside)]
        if args.report is not None:
            pictures = example_pictures([example.key for example in example_frames(result)], args.videos)
            written.append(str(write_report(result, args.report, pictures=pictures)))
    except OSError as exc:
        err.write(f"receiver consensus: cannot write {exc.filename or args.out}: {exc.strerror or exc}\n")
        return EXIT_FAILED
    out.write(render(summarize(counts, skipped, result.frames), written=written, exported=False))
    if reading.unassigned:
        out.write(f"{reading.unassigned} label(s) of frames not handed to their session were not counted\n")
    if result.review:
        out.write(f"{len(result.review)} frame(s) for expert review (listed in the JSON table and the report)\n")
    return EXIT_OK
