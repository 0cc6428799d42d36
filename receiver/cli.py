"""The `receiver` command: parse arguments, build what the subcommand needs, run it, return an exit code.

Each subcommand is a function from parsed arguments (and the environment,
passed in) to an exit code, so tests run the CLI in-process.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from contextlib import ExitStack
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from receiver.journal import Journal
    from receiver.settings import Settings
    from receiver.volunteers.cli import VideoSettings
    from receiver.web.metrics import Metrics

__all__ = ["main", "build_parser", "start_message"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2

Command = Callable[[argparse.Namespace, Mapping[str, str], TextIO, TextIO], int]


def _validate(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    from receiver.contract.schemas import SkeletonError, load_skeleton
    from receiver.contract.validation import Validator
    from receiver.datarepo.checking import available_cores, check_paths
    from receiver.reporting import GithubReporter, JsonReporter, Reporter, TextReporter
    from receiver.volunteers.videos import VideoError, load_videos, video_allowances

    paths = list(args.paths)
    if args.files_from is not None:
        try:
            listed = args.files_from.read_text(encoding="utf-8").splitlines()
        except OSError as exc:
            err.write(f"receiver validate: cannot read {args.files_from}: {exc.strerror}\n")
            return EXIT_USAGE
        paths += [line.strip() for line in listed if line.strip()]
    elif not paths:
        err.write("receiver validate: name at least one PATH, or --files-from FILE\n")
        return EXIT_USAGE
    missing = [p for p in paths if not os.path.exists(p)]
    if missing:
        err.write("".join(f"receiver validate: {p}: no such file or folder\n" for p in missing))
        return EXIT_USAGE
    try:
        allowances = video_allowances(load_videos(args.videos)) if args.videos else None
        validator = Validator(load_skeleton(args.skeleton) if args.skeleton else None, allowances=allowances)
    except (SkeletonError, VideoError) as exc:
        err.write(f"receiver validate: {exc}\n")
        return EXIT_USAGE
    with ExitStack() as stack:
        reporter: Reporter
        if args.format == "json":
            reporter = JsonReporter()
        elif args.format == "github":
            summary_path = environ.get("GITHUB_STEP_SUMMARY")
            summary = stack.enter_context(open(summary_path, "a", encoding="utf-8")) if summary_path else None
            reporter = GithubReporter(summary)
        else:
            reporter = TextReporter(verbose=args.verbose)
        jobs = args.jobs or available_cores()
        checked, failed = reporter.report(check_paths(paths, validator, jobs=jobs), out)
    if checked == 0 and args.files_from is None:
        err.write("receiver validate: no *.json files found under the given paths\n")
    return EXIT_FAILED if failed else EXIT_OK


def _journal_place(url: str) -> str:
    """A PostgreSQL journal by host and database only: its URL may carry a password, which no output shows."""
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"PostgreSQL at {parts.hostname or 'localhost'}{port}{parts.path}"


def _place(path: Path, setting: str) -> str:
    """A data path for the start message: relative to this folder, where a newcomer's default lies.

    A path elsewhere is not printed (output may end up in logs, which never
    carry a server path); the operator who set it knows it.
    """
    try:
        return "./" + path.resolve().relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return f"where {setting} names (outside this folder)"


def start_message(settings: Settings) -> str:
    """Where to go once `serve` listens: the page, the dashboard, the API docs, and where the data goes.

    A newcomer who just ran `receiver serve` otherwise sees only uvicorn's log and has to guess the paths.
    """
    # A wildcard address listens everywhere; a browser on this machine reaches it as localhost.
    host = "127.0.0.1" if settings.host in ("0.0.0.0", "", "::") else settings.host
    base = f"http://[{host}]:{settings.port}" if ":" in host else f"http://{host}:{settings.port}"
    if settings.store == "github":
        data = f"GitHub repository {settings.github_repository} ({settings.delivery_mode})"
    else:
        data = _place(settings.local_repo, "RECEIVER_LOCAL_REPO")
    journal = _journal_place(settings.journal_url) if settings.journal_url else _place(settings.journal_path, "RECEIVER_JOURNAL")
    return (
        f"receiver serve: listening on {base}\n"
        f"  labeling page  {base}/label\n"
        f"  dashboard      {base}/dashboard\n"
        f"  API docs       {base}/docs\n"
        f"  data           {data}\n"
        f"  journal        {journal}\n"
    )


def _serve(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    import logging.config

    import uvicorn

    from receiver.journal.engines import journal_problem
    from receiver.logs import logging_config
    from receiver.settings import SettingsError, load_settings
    from receiver.stores import store_problem

    overrides = {"host": args.host, "port": args.port, "role": args.role}
    try:
        settings = load_settings(environ, config_file=args.config, overrides=overrides)
    except SettingsError as exc:
        err.write(f"receiver serve: {exc}\n")
        return EXIT_USAGE
    problem = journal_problem(settings)
    if problem is None and settings.role != "intake" and args.parent_pid is None:
        # A deliver process that serve started keeps trying instead: its reason is on /health.
        problem = store_problem(settings)
    if problem is not None:
        err.write(f"receiver serve: {problem}\n")
        return EXIT_FAILED
    if settings.role != "deliver" and args.parent_pid is None:
        from receiver.volunteers.videos import misaddressed_videos, verify_videos

        if settings.video_dir is not None and not settings.video_dir.is_dir():
            err.write(f"receiver serve: RECEIVER_VIDEO_DIR {settings.video_dir} is not a folder; make it, or point it at the videos' folder\n")
            return EXIT_USAGE
        # Only files in RECEIVER_VIDEO_DIR are opened: a video on another host is not fetched at start.
        disagreements = verify_videos(settings.videos, settings.video_dir)
        if disagreements:
            named = Path(environ.get("RECEIVER_VIDEOS", "RECEIVER_VIDEOS")).name
            err.write(f"receiver serve: the videos file {named} disagrees with the videos it lists:\n")
            err.writelines(f"  {line}\n" for line in disagreements)
            err.write("  correct those entries, or write them with `receiver videos add`\n")
            return EXIT_USAGE
        err.writelines(f"receiver serve: warning: {warning}\n" for warning in misaddressed_videos(settings.videos, settings.own_urls))
    if settings.role == "deliver":
        from receiver.delivery.roles import prepare_process, run_deliverer

        # No HTTP: intake processes' /health reports this process from the status it publishes in the journal.
        logging.config.dictConfig(logging_config(format=settings.log_format))
        prepare_process("deliver")
        return run_deliverer(settings, parent=args.parent_pid, observer=_delivery_metrics)
    from functools import partial

    from receiver.web.connections import HeaderDeadlineProtocol

    if settings.log_format == "json":
        # Every line a collector reads must parse: the same words, as one log record.
        logging.config.dictConfig(logging_config(format=settings.log_format))
        logging.getLogger("receiver.serve").info(start_message(settings).rstrip("\n"))
    else:
        out.write(start_message(settings))
        out.flush()

    options: dict[str, Any] = {
        "host": settings.host,
        "port": settings.port,
        # X-Forwarded-For is read by the app (receiver.web.forwarded), which takes only an IP address
        # from a trusted hop; uvicorn's own would take any text, so a client could pick its limit's key.
        "proxy_headers": False,
        "log_config": logging_config(format=settings.log_format),
        # The access log is kept at WARNING, where it never writes: skip building its line for every request.
        "access_log": False,
        # uvicorn bounds the idle time after an answer, not the time to send headers: this protocol does,
        # so a connection that opens and sends nothing (or a byte at a time) is closed.
        "http": partial(HeaderDeadlineProtocol, header_seconds=settings.header_seconds),
        "timeout_keep_alive": 5,
        "limit_concurrency": 1000,
        "backlog": 2048,
        # Requests still running at shutdown get this long to finish; a slow client cannot hold the stop.
        "timeout_graceful_shutdown": 10,
    }
    # With SQLite, delivery is always a process of its own beside the intake process(es), so it
    # never waits on intake's GIL nor intake on its. With PostgreSQL one process is a whole
    # receiver, one of the candidate deliverers the advisory lock chooses among.
    deliverer_beside = settings.role == "all" and (settings.workers > 1 or not settings.journal_url)
    if not deliverer_beside and settings.workers == 1:
        from receiver.delivery.roles import prepare_process
        from receiver.web.app import create_app

        app = create_app(settings)
        prepare_process(settings.role)
        uvicorn.run(app, **options)
        return EXIT_OK
    # Worker processes build their own app from the environment: pass the settings file and their role along.
    if args.config is not None:
        os.environ["RECEIVER_CONFIG"] = str(args.config.resolve())
    # Each process counts in its own files there and /metrics sums them. prometheus_client reads the
    # variable when a process imports it, so it is set before anything here imports it; the folder
    # is emptied of a previous run's counts before any process counts.
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(settings.metrics_dir.resolve())
    from receiver.delivery.roles import DelivererSupervisor, prepare_process
    from receiver.web.metrics import prepare_multiprocess_dir

    prepare_multiprocess_dir(settings.metrics_dir)
    supervisor = DelivererSupervisor.for_serve(args.config, environ).start() if deliverer_beside else None
    os.environ["RECEIVER_ROLE"] = "intake"
    try:
        if settings.workers == 1:
            from receiver.web.app import create_app

            app = create_app(replace(settings, role="intake"), metrics_dir=settings.metrics_dir.resolve())
            prepare_process("intake")
            uvicorn.run(app, **options)
        else:
            uvicorn.run("receiver.web.app:app_from_environment", factory=True, workers=settings.workers, **options)
    finally:
        if supervisor is not None:
            supervisor.stop()
    return EXIT_OK


def _tokens(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    from receiver.access.tokens import TokenError, add_token, describe, in_force, remove_token, revoke_token
    from receiver.settings import SettingsError, load_settings

    path = args.file or Path(environ.get("RECEIVER_TOKENS_FILE", "receiver-data/tokens.json"))
    try:
        if args.action == "add":
            token = add_token(path, args.name)
            out.write(f"Token for {args.name} (shown once; only its hash is kept in {path}):\n{token}\n")
        elif args.action == "remove":
            if not remove_token(path, args.name):
                err.write(f"receiver tokens: no token named {args.name!r}\n")
                return EXIT_FAILED
            out.write(f"Removed the token of {args.name}.\n")
        elif args.action == "revoke":
            journal_url = load_settings(environ).journal_url
            revoked = in_force(path, args.name)
            if not revoked:
                err.write(f"receiver tokens: no token in force named {args.name!r}\n")
                return EXIT_FAILED
            reach = "every running receiver refuses it from its next request"
            if journal_url:
                from receiver.access.revocations import REFRESH_SECONDS, SharedRevocations

                # The database first: if it cannot be written, the file still holds the token in force and this can be run again.
                SharedRevocations(journal_url).revoke(revoked)
                reach = f"every receiver on the PostgreSQL journal refuses it within {REFRESH_SECONDS:.0f} s"
            revoke_token(path, args.name)
            out.write(f"Revoked the token of {args.name}: {reach}.\n")
        else:
            out.write("".join(f"{line}\n" for line in describe(path)) or "no tokens\n")
    except (TokenError, SettingsError) as exc:
        err.write(f"receiver tokens: {exc}\n")
        return EXIT_USAGE
    return EXIT_OK


def _retry(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    from receiver.journal import JournalError
    from receiver.journal.engines import open_journal
    from receiver.settings import SettingsError, load_settings

    if not args.ids and not args.failed:
        err.write("receiver retry: name record ids, or --failed for every failed record\n")
        return EXIT_USAGE
    try:
        settings = load_settings(environ, config_file=args.config)
    except SettingsError as exc:
        err.write(f"receiver retry: {exc}\n")
        return EXIT_USAGE
    if not settings.journal_url and not settings.journal_path.exists():
        err.write("receiver retry: no journal yet: nothing was ever received with these settings\n")
        return EXIT_USAGE
    try:
        with open_journal(settings) as journal:
            unknown = [i for i in args.ids if journal.get(i) is None]
            count = journal.retry([i for i in args.ids if i not in unknown], failed=args.failed)
    except JournalError as exc:
        err.write(f"receiver retry: {exc}\n")
        return EXIT_FAILED
    for identifier in unknown:
        err.write(f"receiver retry: no record has the id {identifier[:40]!r}\n")
    out.write(f"{count} record(s) queued for delivery again; a running receiver picks them up within seconds.\n")
    return EXIT_FAILED if unknown else EXIT_OK


def _moderate(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    from receiver.datarepo.moderation import ModerationSetupError, build_moderator, moderate_pulls
    from receiver.settings import SettingsError, load_settings

    try:
        moderator = build_moderator(load_settings(environ, config_file=args.config), environ=environ)
    except (SettingsError, ModerationSetupError) as exc:
        err.write(f"receiver moderate: {exc}\n")
        return EXIT_USAGE
    return EXIT_OK if moderate_pulls(moderator, args.verdict, args.pulls, out) else EXIT_FAILED


def _gate(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    import requests

    from receiver.datarepo.localgate import GateInputError, LocalGate, run_local_gate
    from receiver.datarepo.moderation import ModerationSetupError, build_moderator
    from receiver.settings import SettingsError, load_settings

    try:
        settings = load_settings(environ, config_file=args.config)
        github = build_moderator(settings, environ=environ).github
    except (SettingsError, ModerationSetupError) as exc:
        err.write(f"receiver gate: {exc}\n")
        return EXIT_USAGE
    run = LocalGate(args.pull, sha=args.sha, merge=args.merge, method=args.method, authors=args.authors, moderation=args.moderation)
    try:
        return run_local_gate(github, settings.github_repository, run, out)
    except GateInputError as exc:
        err.write(f"receiver gate: {exc}\n")
        return EXIT_USAGE
    except requests.exceptions.RequestException as exc:
        err.write(f"receiver gate: GitHub at {settings.github_api_url} could not be reached ({exc.__class__.__name__}); check RECEIVER_GITHUB_API_URL and the network\n")
        return EXIT_FAILED
    finally:
        github.close()


def _page(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    from receiver.web.labeling import PageBuildError, build_static

    try:
        written = build_static(args.directory, args.receiver_url)
    except PageBuildError as exc:
        err.write(f"receiver page build: {exc}\n")
        return EXIT_USAGE
    except OSError as exc:
        err.write(f"receiver page build: cannot write {args.directory}: {exc.strerror}\n")
        return EXIT_FAILED
    out.write(
        f"Wrote {len(written)} files to {args.directory}: index.html labels, review.html?id=ID reviews; "
        f"they talk to {args.receiver_url}. Let that receiver accept this host's origin (RECEIVER_ALLOWED_ORIGINS).\n"
    )
    return EXIT_OK


def _doctor(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    if args.journal:
        from receiver.journal import JournalUnavailable
        from receiver.journal.engines import MISSING_DRIVER
        from receiver.settings import SettingsError, load_settings

        try:
            journal_url = load_settings(environ, config_file=args.config).journal_url
        except SettingsError as exc:
            err.write(f"receiver doctor: {exc}\n")
            return EXIT_USAGE
        if not journal_url:
            err.write(
                "receiver doctor: doctor --journal checks a PostgreSQL journal;"
                " an SQLite journal is a file: keep it readable by the receiver's user only\n"
            )
            return EXIT_USAGE
        try:
            from receiver.journal.grants import run_grants_doctor
        except ImportError:
            err.write(f"receiver doctor: {MISSING_DRIVER}\n")
            return EXIT_FAILED
        try:
            return run_grants_doctor(journal_url, out, output=args.format)
        except JournalUnavailable as exc:
            err.write(f"receiver doctor: {exc}\n")
            return EXIT_FAILED
    from receiver.datarepo.doctor import app_identity, run_doctor
    from receiver.datarepo.moderation import ModerationSetupError, build_moderator
    from receiver.settings import SettingsError, load_settings
    from receiver.stores.github.client import AppCredentials

    try:
        settings = load_settings(environ, config_file=args.config)
        # The moderator is built from the store's settings and identity; the doctor uses the same client.
        github = build_moderator(settings).github
    except (SettingsError, ModerationSetupError) as exc:
        err.write(f"receiver doctor: {exc}\n")
        return EXIT_USAGE
    if settings.github_app_private_key_file is None:
        return run_doctor(github, settings.github_repository, out, output=args.format, moderation=settings.moderation)
    try:
        app = AppCredentials.from_key_file(settings.github_app_id, settings.github_app_private_key_file, settings.github_app_installation_id)
    except OSError as exc:
        err.write(f"receiver doctor: the GitHub App's private key file cannot be read ({exc.strerror})\n")
        return EXIT_USAGE
    # Who the app's pull requests are by: the gate must name that login.
    identity = app_identity(settings.github_api_url, app)
    return run_doctor(github, settings.github_repository, out, output=args.format, credentials="app", identity=identity, moderation=settings.moderation)


def _init(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    import requests
    from github import GithubException

    from receiver.datarepo.layout import (
        DEFAULT_REF,
        InitError,
        UnresolvedRef,
        checkout_commit,
        commit_of_ref,
        pin_to_commit,
        receiver_repository,
        write_init,
    )
    from receiver.stores.github.answers import answer_from
    from receiver.stores.github.client import github_client

    api_url = args.github_api_url or environ.get("RECEIVER_GITHUB_API_URL") or "https://api.github.com"
    args.receiver_repo = args.receiver_repo or receiver_repository()
    if args.receiver_repo is None:
        err.write("receiver init: this installation's metadata names no GitHub repository of the receiver's code; pass --receiver-repo OWNER/NAME\n")
        return EXIT_USAGE
    # Not told which code: the checkout this runs from (a commit, no lookup), else this version's tag, looked up.
    checkout = checkout_commit() if args.receiver_ref is None else None
    args.receiver_ref = args.receiver_ref or checkout or DEFAULT_REF

    def commit_of(ref: str) -> str | None:
        # Only a tag or branch is looked up: a commit id is pinned as given, with no request.
        github = github_client(api_url, token=environ.get("GITHUB_TOKEN", ""))
        try:
            return commit_of_ref(github.get_repo(args.receiver_repo), ref)
        finally:
            github.close()

    try:
        pin = pin_to_commit(args.receiver_repo, args.receiver_ref, commit_of, branch=args.branch)
        written = write_init(args.path, pin, force=args.force)
    except UnresolvedRef as exc:
        err.write(f"receiver init: {exc}\n")
        return EXIT_USAGE
    except GithubException as exc:
        answer = answer_from(exc)
        err.write(
            f"receiver init: GitHub answered {answer.status} ({answer.message or 'no message'}) when asked which commit "
            f"{args.receiver_ref} of {args.receiver_repo} names; check --receiver-repo and GITHUB_TOKEN, or pass a full commit id\n"
        )
        return EXIT_FAILED
    except requests.exceptions.RequestException as exc:
        err.write(
            f"receiver init: GitHub at {api_url} could not be reached ({exc.__class__.__name__}) to find the commit {args.receiver_ref} names; "
            "check --github-api-url and the network, or pass a full 40-character commit id\n"
        )
        return EXIT_FAILED
    except (InitError, OSError) as exc:
        err.write(f"receiver init: {exc}\n")
        return EXIT_FAILED
    out.write("".join(f"wrote {path}\n" for path in written))
    out.write(f"The workflows check out {pin.repository} at commit {pin.commit}" + (f" ({pin.named} now).\n" if pin.named else ".\n"))
    if checkout is not None:
        out.write(
            f"That is the HEAD of the checkout this receiver runs from: it must be on GitHub's {pin.repository} "
            "(pushed) for the workflows to check it out; pass --receiver-ref to pin a release instead.\n"
        )
    out.write("Commit these to the data repository, make the settings its README.md lists, then run `receiver doctor`.\n")
    return EXIT_OK


def _predictions(args: argparse.Namespace, environ: Mapping[str, str], out: TextIO, err: TextIO) -> int:
    from receiver.contract.validation import Validator
    from receiver.journal import JournalError
    from receiver.journal.engines import open_journal
    from receiver.settings import SettingsError, load_settings
    from receiver.volunteers.frames import FrameLedger
    from receiver.volunteers.predictions import PredictionError, doubts, read_predictions
    from receiver.volunteers.tallies import tally_database

    try:
        settings = load_settings(environ, config_file=args.config)
    except SettingsError as exc:
        err.write(f"receiver predictions: {exc}\n")
        return EXIT_USAGE
    if not settings.videos:
        err.write("receiver predictions: no videos are configured (RECEIVER_VIDEOS); predictions belong to configured videos\n")
        return EXIT_USAGE
    skeleton = Validator().skeleton
    keypoints = [k.id for k in skeleton.keypoints]
    read = []
    if args.action == "import":
        try:
            video_map, keypoint_map = _pairs(args.video, "--video"), _pairs(args.keypoint, "--keypoint")
        except ValueError as exc:
            err.write(f"receiver predictions: {exc}\n")
            return EXIT_USAGE
        try:
            import sleap_io
        except ImportError:
            err.write("receiver predictions: reading pose files needs sleap-io: pip install 'pose-receiver[export]'\n")
            return EXIT_USAGE
        for path in args.files:
            try:
                labels = sleap_io.load_file(str(path))
            except Exception as exc:  # sleap-io raises what its format readers raise
                err.write(f"receiver predictions: {path.name} cannot be read as a pose file ({exc.__class__.__name__}: {exc}); nothing was imported\n")
                return EXIT_FAILED
            model = args.model or path.stem
            try:
                read.extend(
                    read_predictions(
                        labels.labeled_frames, source=path.name, videos=settings.videos, keypoints=keypoints, model=model,
                        video_map=video_map, keypoint_map=keypoint_map,
                    )
                )
            except PredictionError as exc:
                err.write(f"receiver predictions: {exc}; nothing was imported\n")
                return EXIT_FAILED
    try:
        with open_journal(settings):
            tally = FrameLedger(tally_database(settings), settings.videos, retire_after=settings.retire_after, keypoints=keypoints).open()
            try:
                if read:
                    sizes = {video.url: (video.width, video.height) for video in settings.videos}
                    values: list[float] = []
                    for url in sorted({p.video_url for p in read}):
                        of_video = [p for p in read if p.video_url == url]
                        values.extend(doubts(of_video, *sizes[url]))
                    ordered = sorted(read, key=lambda p: (p.video_url, p.frame_index))
                    count = tally.import_predictions(ordered, values)
                    out.write(f"{count} predicted frame(s) imported from {len(args.files)} file(s).\n")
                counts = tally.prediction_counts()
            finally:
                tally.close()
    except JournalError as exc:
        err.write(f"receiver predictions: {exc}\n")
        return EXIT_FAILED
    if not counts:
        out.write("No predictions are loaded; `receiver predictions import FILE` loads some.\n")
    for url, model, frames, doubt in counts:
        out.write(f"{url}  model {model}: {frames} frame(s), mean doubt {doubt:.2f}\n")
    return EXIT_OK


def _pairs(items: list[str] | None, option: str) -> dict[str, str]:
    """NAME=VALUE options as a mapping, or a ValueError naming the one without '='."""
    pairs = {}
    for item in items or []:
        name, sep, value = item.partition("=")
        if not sep or not name or not value:
            raise ValueError(f"{option} {item!r} should be NAME=VALUE")
        pairs[name] = value
    return pairs


def _positive_int(text: str) -> int:
    if not (text.isascii() and text.isdigit()) or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number, 1 or more, not {text!r}")
    return int(text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="receiver",
        description="Receive pose-estimation labels, validate them, and deliver them to a git or GitHub data repository.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    validate = commands.add_parser(
        "validate",
        help="check submissions and stored records on disk",
        description=(
            "Check JSON files (raw submissions or stored records, recognised by their 'receipt') "
            "against the schemas and the skeleton. Exit 0 when all pass, 1 when any fails, 2 on usage errors."
        ),
    )
    validate.add_argument("paths", nargs="*", metavar="PATH", help="files, or folders searched recursively for *.json")
    validate.add_argument(
        "--files-from",
        type=Path,
        metavar="FILE",
        help="also check the paths listed in FILE, one per line (an empty list checks nothing and passes)",
    )
    validate.add_argument(
        "--format",
        choices=("text", "json", "github"),
        default="text",
        help="text for people, json for programs, github for workflow annotations and the job summary (GITHUB_STEP_SUMMARY)",
    )
    validate.add_argument("--skeleton", type=Path, help="skeleton file to check keypoints against (default: the project's)")
    validate.add_argument(
        "--videos",
        type=Path,
        metavar="FILE",
        help="the receiver's videos file, to check how many animals (animals) and which tracks (tracks) each video allows; without it neither is checked",
    )
    validate.add_argument("-v", "--verbose", action="store_true", help="also list the files that pass (text format)")
    validate.add_argument(
        "--jobs",
        type=_positive_int,
        metavar="N",
        help="check in N processes (default: one per available CPU; 1 checks in this process); the output is the same",
    )
    validate.set_defaults(run=_validate)

    from receiver.settings import SETTING_HELP

    settings_help = "\n".join(f"  RECEIVER_{name.upper():<22} {text}" for name, text in SETTING_HELP.items())
    serve = commands.add_parser(
        "serve",
        help="run the receiver (HTTP on uvicorn)",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Serve the receiver. With no settings it listens on 127.0.0.1:8000 and stores into a local bare git "
            "repository at ./receiver-data/annotations.git, journal beside it."
        ),
        epilog=(
            "Settings come from receiver.toml (or the file RECEIVER_CONFIG names; keys without the prefix, "
            "lowercase), then from these environment variables, then from the flags above:\n"
            + settings_help
            + "\n  GITHUB_TOKEN                    the token of the GitHub store (never logged)"
        ),
    )
    serve.add_argument("--host", help="address to listen on (RECEIVER_HOST, default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="port to listen on (RECEIVER_PORT, default 8000)")
    serve.add_argument("--config", type=Path, help="settings file (default: ./receiver.toml if present)")
    serve.add_argument(
        "--role",
        choices=("all", "intake", "deliver"),
        help=(
            "all: take submissions in and deliver (default); intake: take in and answer only; deliver: drain the journal "
            "into the store, without HTTP (intake processes' /health reports it) (RECEIVER_ROLE)"
        ),
    )
    # Set by serve on the deliver process it supervises, which stops when serve is gone.
    serve.add_argument("--parent-pid", type=int, help=argparse.SUPPRESS)
    serve.set_defaults(run=_serve)

    tokens = commands.add_parser(
        "tokens",
        help="manage the named tokens of trusted labeling tools",
        description="Tokens name the submitter of what a tool posts. Only SHA-256 hashes are stored; a new token is printed once.",
    )
    tokens.add_argument(
        "action",
        choices=("add", "revoke", "remove", "list"),
        help="revoke refuses a token at once in every running receiver and keeps its entry; remove deletes it",
    )
    tokens.add_argument("name", nargs="?", default="", help="the submitter's name (add, revoke, remove)")
    tokens.add_argument("--file", type=Path, help="tokens file (RECEIVER_TOKENS_FILE, default receiver-data/tokens.json)")
    tokens.set_defaults(run=_tokens)

    retry = commands.add_parser(
        "retry",
        help="queue failed (or named) records for delivery again",
        description=(
            "Put records back in the delivery queue with their refusal count reset: the named ids, and with --failed "
            "every record the store refused until it failed. Works while the receiver runs."
        ),
    )
    retry.add_argument("ids", nargs="*", metavar="ID", help="record ids (as in status_url)")
    retry.add_argument("--failed", action="store_true", help="every failed record")
    retry.add_argument("--config", type=Path, help="settings file (default: ./receiver.toml if present)")
    retry.set_defaults(run=_retry)

    moderate = commands.add_parser(
        "moderate",
        help="approve (merge) or reject (close) pull requests waiting for review",
        description=(
            "Act on the receiver's pull requests labeled needs-review in the GitHub data repository "
            "(RECEIVER_GITHUB_REPOSITORY, GITHUB_TOKEN or a GitHub App, RECEIVER_GITHUB_API_URL). approve merges a pull request "
            "if its head has not moved since it was read; reject closes it with a comment and deletes its branch. "
            "Writes are paced like the store's. One line per pull request; exit 0 when all were done, 1 when any was refused."
        ),
    )
    moderate.add_argument("verdict", choices=("approve", "reject"))
    moderate.add_argument("pulls", nargs="+", type=int, metavar="PR", help="pull request numbers")
    moderate.add_argument("--config", type=Path, help="settings file (default: ./receiver.toml if present)")
    moderate.set_defaults(run=_moderate)

    gate = commands.add_parser(
        "gate",
        help="judge a pull request as the auto-merge workflow would (read-only unless --merge)",
        description=(
            "Run the auto-merge gate's judgement on pull request PR of the data repository (RECEIVER_GITHUB_REPOSITORY, GITHUB_TOKEN "
            "or a GitHub App, RECEIVER_GITHUB_API_URL): the same checks on the same facts as the workflow, with this installation's "
            "validator and the repository's variables RECEIVER_GATE_AUTHORS and RECEIVER_MODERATION, and the same summary. "
            "Writes nothing unless --merge. Exit 0 when it merges (or would merge), 1 when it refuses or cannot read the PR, 2 on bad settings."
        ),
    )
    gate.add_argument("pull", type=_positive_int, metavar="PR", help="the pull request's number")
    gate.add_argument("--sha", metavar="SHA", help="the commit to judge, as validation passed it (default: the PR's head now)")
    gate.add_argument("--merge", action="store_true", help="merge it when every check passes, as the workflow does")
    gate.add_argument("--method", choices=("squash", "merge", "rebase"), default="squash", help="how to merge (the workflow's RECEIVER_MERGE_METHOD; default squash)")
    gate.add_argument("--authors", metavar="LOGIN[,LOGIN]", help="whose pull requests may merge (default: the repository variable RECEIVER_GATE_AUTHORS, else pose-receiver)")
    gate.add_argument("--moderation", metavar="auto|review", help="the repository's moderation (default: its variable RECEIVER_MODERATION, else auto)")
    gate.add_argument("--config", type=Path, help="settings file (default: ./receiver.toml if present)")
    gate.set_defaults(run=_gate)

    page = commands.add_parser(
        "page",
        help="write the labeling page as static files",
        description="Write the labeling page and the review view as static files for GitHub Pages or any static host.",
    )
    page.add_argument("action", choices=("build",))
    page.add_argument("directory", type=Path, metavar="DIR", help="where to write the page (created if missing)")
    page.add_argument("--receiver-url", required=True, metavar="URL", help="the receiver the page reads frames from and posts labels to")
    page.set_defaults(run=_page)

    doctor = commands.add_parser(
        "doctor",
        help="check the GitHub data repository's settings with the receiver's credentials",
        description=(
            "Check the data repository (RECEIVER_GITHUB_REPOSITORY, RECEIVER_GITHUB_API_URL, GITHUB_TOKEN or the GitHub App) "
            "as the receiver sees it: access, workflows, the required validate check, head-branch deletion, Actions "
            "permissions, the gate's authors, schemas and the rate limit. With --journal, check the PostgreSQL journal's "
            "database (RECEIVER_JOURNAL) instead: PUBLIC may not connect or create tables, the receiver's role has the grants "
            "it needs and alone reads the lock secret. One line per check with its fix; "
            "exit 0 when all pass, 1 when any fails, 2 when settings are missing (or, with --journal, name an SQLite journal)."
        ),
    )
    doctor.add_argument(
        "--journal",
        action="store_true",
        help="check the PostgreSQL journal's grants as the receiver's role sees them, naming the SQL that fixes each failure",
    )
    doctor.add_argument("--format", choices=("text", "json"), default="text", help="text for people, json for programs")
    doctor.add_argument("--config", type=Path, help="settings file (default: ./receiver.toml if present)")
    doctor.set_defaults(run=_doctor)

    from receiver.datarepo.layout import DEFAULT_REF

    init = commands.add_parser(
        "init",
        help="write a data-only repository: workflows, schemas, README",
        description=(
            "Write what a data repository kept apart from this code needs: .github/workflows (validate and auto-merge, "
            "running this project's code checked out at --receiver-ref), schemas/, annotations/.gitkeep and a README "
            "listing the settings `receiver doctor` checks. A folder with files is refused unless --force; "
            "nothing under annotations/ is ever written over."
        ),
    )
    init.add_argument("path", type=Path, metavar="PATH", help="the folder to write (created if missing)")
    init.add_argument(
        "--receiver-repo",
        metavar="OWNER/NAME",
        help="the GitHub repository of this project's code the workflows check out (default: the Repository URL of the package's metadata)",
    )
    init.add_argument(
        "--receiver-ref",
        metavar="REF",
        help=(
            "tag, branch or full commit id of that code; a tag or branch is looked up on GitHub and its commit id is pinned "
            f"(default: the HEAD commit of the git checkout this receiver runs from, else the tag {DEFAULT_REF})"
        ),
    )
    init.add_argument(
        "--github-api-url",
        metavar="URL",
        help="GitHub API base URL to look REF up at (default RECEIVER_GITHUB_API_URL, else https://api.github.com); GITHUB_TOKEN is sent when set",
    )
    init.add_argument("--branch", default="main", help="the data repository's default branch (default main)")
    init.add_argument("--force", action="store_true", help="write into a folder that already has files (annotations/ stays untouched)")
    init.set_defaults(run=_init)

    predictions = commands.add_parser(
        "predictions",
        help="load a model's predictions for the configured videos, or list them",
        description=(
            "import reads pose files (SLEAP .slp, DeepLabCut .h5, NWB ndx-pose) through sleap-io and keeps their predictions beside the"
            " journal, replacing earlier ones of the same frames; a file that cannot be placed on the configured videos and skeleton is"
            " refused whole. list shows what is loaded per video and model version. With RECEIVER_FRAME_CHOICE=uncertain, next-frame"
            " hands out the frames whose predictions are most in doubt first."
        ),
    )
    predictions.add_argument("action", choices=("import", "list"))
    predictions.add_argument("files", nargs="*", type=Path, metavar="FILE", help="pose files to import")
    predictions.add_argument("--model", help="the model version to keep with each prediction (default: the file's name)")
    predictions.add_argument("--video", action="append", metavar="NAME=URL", help="the configured video a file name in the pose file stands for")
    predictions.add_argument("--keypoint", action="append", metavar="NODE=ID", help="the skeleton keypoint a node name in the pose file stands for")
    predictions.add_argument("--config", type=Path, help="settings file (TOML); default receiver.toml when present")
    predictions.set_defaults(run=_predictions)

    from receiver.export.cli import add_commands
    from receiver.volunteers.cli import add_commands as add_video_commands

    add_commands(commands, own_store=_own_store, own_predictions=_own_predictions)
    add_video_commands(commands, settings_of=_video_settings)
    return parser


def _video_settings(environ: Mapping[str, str]) -> VideoSettings:
    """What `receiver videos` needs from the settings; the videos file itself is read by the command, since `add` may create it."""
    from receiver.settings import load_settings
    from receiver.volunteers.cli import VideoSettings

    named = environ.get("RECEIVER_VIDEOS", "").strip()
    settings = load_settings({k: v for k, v in environ.items() if k != "RECEIVER_VIDEOS"}, overrides={"videos": ""})
    return VideoSettings(
        videos_file=Path(named) if named else None,
        video_dir=settings.video_dir,
        base_url=settings.own_urls[0],
        own_urls=settings.own_urls,
        server_frames=settings.server_frames,
    )


def _own_store(environ: Mapping[str, str]) -> Path:
    """The receiver's own repository, which export and consensus read when no source is named.

    A GitHub-mode receiver keeps none: its data repository's default branch is
    fetched with git into a bare copy beside where the local store would be.
    """
    from receiver.settings import load_settings
    from receiver.stores.sources import clone_url, mirror

    settings = load_settings(environ)
    if settings.store != "github":
        return settings.local_repo
    remote = settings.github_clone_url or clone_url(settings.github_api_url, settings.github_repository)
    cache = settings.local_repo.parent / "github-cache" / (settings.github_repository.replace("/", "+") + ".git")
    return mirror(remote, cache, branch=settings.branch, token=_git_token(settings))


def _own_predictions(environ: Mapping[str, str], frames: Sequence[tuple[str, int]]) -> dict[tuple[str, int], tuple[tuple[float, float] | None, ...]]:
    """The predictions `receiver predictions import` kept for these frames, in skeleton order; {} when none are kept.

    Read from the journal only when the settings name videos and the journal
    already exists: exporting never creates a journal.
    """
    from receiver.contract.validation import Validator
    from receiver.journal import JournalError
    from receiver.journal.engines import open_journal
    from receiver.settings import SettingsError, load_settings
    from receiver.volunteers.frames import FrameLedger
    from receiver.volunteers.tallies import tally_database

    try:
        settings = load_settings(environ)
    except SettingsError:
        return {}
    if not settings.videos or not frames or (not settings.journal_url and not settings.journal_path.exists()):
        return {}
    keypoints = [k.id for k in Validator().skeleton.keypoints]
    found: dict[tuple[str, int], tuple[tuple[float, float] | None, ...]] = {}
    try:
        with open_journal(settings):
            tally = FrameLedger(tally_database(settings), settings.videos, retire_after=settings.retire_after, keypoints=keypoints).open()
            try:
                for url, index in frames:
                    kept = tally.prediction(url, index)
                    if kept is not None:
                        points = kept["keypoints"]
                        found[(url, index)] = tuple(None if points.get(k) is None else (float(points[k]["x"]), float(points[k]["y"])) for k in keypoints)
            finally:
                tally.close()
    except JournalError:
        return {}
    return found


def _git_token(settings: Settings) -> str:
    """The token git sends to fetch the data repository: GITHUB_TOKEN, or an installation token of the GitHub App."""
    if settings.github_token or settings.github_app_private_key_file is None:
        return settings.github_token
    from github import Auth, GithubException, GithubIntegration

    from receiver.stores.github.client import AppCredentials

    app = AppCredentials.from_key_file(settings.github_app_id, settings.github_app_private_key_file, settings.github_app_installation_id)
    integration = GithubIntegration(auth=Auth.AppAuth(app.app_id, app.private_key), base_url=settings.github_api_url.rstrip("/"))
    try:
        return integration.get_access_token(app.installation_id).token
    except GithubException as exc:
        raise ValueError(
            f"the GitHub App could not get a token to fetch the data repository (HTTP {exc.status}); "
            "check RECEIVER_GITHUB_APP_ID, RECEIVER_GITHUB_APP_INSTALLATION_ID and the key, or set GITHUB_TOKEN"
        ) from exc


def _delivery_metrics(journal: Journal) -> Metrics | None:
    """Beside intake processes, what a deliver process delivers is counted in the files their /metrics sums."""
    from receiver.web.metrics import Metrics

    shared = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if not shared:
        return None
    return Metrics(access="off", token="", journal=lambda: journal, now=lambda: datetime.now(timezone.utc), multiprocess_dir=Path(shared))


def main(
    argv: Sequence[str] | None = None,
    *,
    environ: Mapping[str, str] | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
) -> int:
    """Run the command line and return its exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    run: Command = args.run
    return run(args, os.environ if environ is None else environ, out or sys.stdout, err or sys.stderr)
