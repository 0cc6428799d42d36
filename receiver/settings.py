"""Settings: read once at the edge (a `receiver.toml` and `RECEIVER_*` variables) into one typed object.

Precedence, lowest first: defaults, the TOML file, the environment, command-line
flags. The environment is a parameter, so tests pass a dict. A value that
cannot be read names its key and what was wrong with it.
"""

from __future__ import annotations

import difflib
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from receiver.access.ratelimit import RateLimit
from receiver.volunteers.videos import Video, load_videos, place_videos

__all__ = ["Settings", "SettingsError", "RateLimit", "load_settings", "SETTING_HELP"]


class SettingsError(ValueError):
    """A setting that cannot be used; the message names the key, the value and what is expected."""


_LOCALHOST_ORIGINS = r"https?://(localhost|127\.0\.0\.1|\[::1\])(:\d+)?"


@dataclass(frozen=True)
class Settings:
    host: str = "127.0.0.1"
    port: int = 8000
    workers: int = 1
    role: str = "all"
    store: str = "local"
    local_repo: Path = Path("receiver-data/annotations.git")
    local_mode: str = "direct"
    branch: str = "main"
    journal: Path | None = None
    #: A `postgresql://` journal, when RECEIVER_JOURNAL names one (it may carry a password: never shown).
    journal_url: str = field(default="", repr=False)
    allowed_origins: tuple[str, ...] = ()
    tokens_file: Path | None = None
    public: bool = True
    rate_limit: RateLimit | None = RateLimit(120, 60.0)
    rate_limit_ipv4_prefix: int = 32
    rate_limit_ipv6_prefix: int = 64
    anonymous_per_hour: int = 0
    max_body_bytes: int = 64 * 1024
    body_seconds: float = 10.0
    connections_per_client: int = 50
    header_seconds: float = 10.0
    forwarded_allow_ips: str = "127.0.0.1"
    batch_size: int = 500
    github_repository: str = ""
    github_api_url: str = "https://api.github.com"
    #: Where `export` and `consensus` fetch the data repository with git; empty: derived from the API URL.
    github_clone_url: str = ""
    github_token: str = field(default="", repr=False)
    github_app_id: int = 0
    github_app_installation_id: int = 0
    github_app_private_key_file: Path | None = None
    delivery_mode: str = "pull-request"
    github_write_interval: float = 1.0
    github_writes_per_minute: int = 80
    github_writes_per_hour: int = 500
    batch_seconds: float = 0.0
    moderation: str = "auto"
    log_format: str = "text"
    max_attempts: int = 5
    stall_seconds: float = 120.0
    videos: tuple[Video, ...] = field(default=(), repr=False)
    video_dir: Path | None = None
    server_frames: str = "auto"
    frame_cache_mb: int = 256
    retire_after: int = 3
    public_url: str = ""
    metrics: str = "token"
    metrics_token: str = field(default="", repr=False)
    #: Signs volunteer sessions and lease tickets; generated and kept in the journal's database when not set.
    session_secret: str = field(default="", repr=False)
    session_limit: RateLimit | None = RateLimit(20, 3600.0)
    session_seconds: float = 30 * 86400.0
    lease_seconds: float = 1800.0
    label_cap: int = 0
    one_voice_per_address: bool = True
    gold: Path | None = None
    gold_screening: bool = True
    frame_choice: str = "uniform"

    @property
    def journal_path(self) -> Path:
        return self.journal or self.local_repo.parent / "journal.sqlite3"

    @property
    def limits_path(self) -> Path:
        """The limits' shared state, beside the journal so every process of this receiver finds the same file."""
        return self.journal_path.with_name(self.journal_path.name + ".limits.sqlite")

    @property
    def metrics_dir(self) -> Path:
        """Where worker processes keep their counters for /metrics to sum (beside the journal, wiped at each start)."""
        return self.journal_path.with_name(self.journal_path.name + ".metrics")

    @property
    def frame_cache_dir(self) -> Path:
        """Where decoded frames are kept (beside the journal, bounded by frame_cache_mb)."""
        return self.journal_path.with_name(self.journal_path.name + ".frames")

    @property
    def own_urls(self) -> tuple[str, ...]:
        """The addresses this receiver is reached at: its public URL, and its own host and port."""
        hosts = {self.host, "127.0.0.1", "localhost"} if self.host in ("127.0.0.1", "0.0.0.0", "localhost", "::") else {self.host}
        own = [self.public_url] if self.public_url else []
        return (*own, *sorted(f"http://{host}:{self.port}" for host in hosts))

    @property
    def origin_regex(self) -> str | None:
        """With no allowlist, pages served from this machine (any port) may post."""
        return None if self.allowed_origins else _LOCALHOST_ORIGINS


SETTING_HELP: dict[str, str] = {
    "host": "address to listen on",
    "port": "port to listen on",
    "workers": "intake processes sharing the port; above 1, serve also runs and supervises one deliver process",
    "role": "all (take submissions in and deliver), intake (take in and answer only) or deliver (drain the journal into the store; no HTTP)",
    "store": "where records go: local (a bare git repository) or github",
    "local_repo": "the bare git repository of the local store (created if missing)",
    "local_mode": "local store mode: direct (commit to the branch) or branch (a branch per record, merged after validation)",
    "branch": "the data repository's default branch",
    "journal": (
        "the SQLite journal file (default: journal.sqlite3 beside the local repository), or a postgresql:// URL for"
        " receivers on several machines (install pose-receiver[postgres])"
    ),
    "allowed_origins": "comma-separated origins whose pages may post (default: localhost and 127.0.0.1, any port)",
    "tokens_file": "JSON file of named token hashes (see `receiver tokens add`); enables token mode",
    "public": "accept submissions without a token (true/false)",
    "rate_limit": "per-client limit for tokenless submissions, like 120/minute; 0 turns it off",
    "rate_limit_ipv4_prefix": "IPv4 addresses sharing this many leading bits are one client (32: each address)",
    "rate_limit_ipv6_prefix": "IPv6 addresses sharing this many leading bits are one client (64: one /64, what one host usually gets)",
    "anonymous_per_hour": "most tokenless submissions in any hour, all clients together; 0 (the default) for no ceiling",
    "max_body_bytes": "largest accepted request body, in bytes",
    "body_seconds": "seconds a client has to send a whole submission body once its headers are in; later, 408 and the connection is closed (0: no deadline)",
    "connections_per_client": "most requests one client address group may have open at once in one process (past it, 429); 0 turns the cap off",
    "header_seconds": "seconds a connection has to send a request's headers, from when it opens or its last answer; then `receiver serve` closes it (0: no deadline)",
    "forwarded_allow_ips": "comma-separated proxy addresses whose X-Forwarded-For is trusted",
    "batch_size": "most records the delivery worker hands the store at once",
    "github_repository": "OWNER/NAME of the GitHub data repository (store = github)",
    "github_api_url": "GitHub API base URL (GitHub Enterprise, or a test server)",
    "github_clone_url": "git URL `export` and `consensus` fetch the data repository from (default: from the API URL, https://github.com/OWNER/NAME.git)",
    "delivery_mode": "GitHub delivery: pull-request, direct or batch",
    "github_app_id": "act as this GitHub App instead of GITHUB_TOKEN (with the two settings below)",
    "github_app_installation_id": "the app's installation on the data repository",
    "github_app_private_key_file": "the app's private key (PEM file)",
    "github_write_interval": "least seconds between two content-creating GitHub requests (GitHub asks for 1)",
    "github_writes_per_minute": "content-creating GitHub requests allowed per minute (GitHub's secondary limit: 80)",
    "github_writes_per_hour": "content-creating GitHub requests allowed per hour (GitHub's secondary limit: 500)",
    "batch_seconds": "in batch mode, how long the first queued record may wait for the batch to fill",
    "log_format": "text (one line per event for people) or json (one JSON object per line, with the record id where there is one)",
    "moderation": "auto (the gate merges valid receiver PRs) or review (PRs are labelled needs-review and merged by a maintainer)",
    "max_attempts": "refusals by the store after which a record is marked failed (then `receiver retry`)",
    "stall_seconds": "/health says stalled when records wait and nothing was delivered for this long",
    "videos": "JSON or TOML file listing the videos volunteers label (url, fps, frames, width, height; optional animals and tracks); enables /api/next-frame; `receiver videos add` writes it",
    "video_dir": "folder of video files the receiver serves itself at /videos/<path> (with byte ranges and CORS); nothing outside it is served",
    "server_frames": "auto (the page labels frames the receiver decodes only for videos browsers cannot play) or always (for every video it can decode)",
    "frame_cache_mb": "megabytes of decoded frames kept on disk beside the journal (least recently used go first)",
    "retire_after": "agreeing labels after which a frame is retired and no longer handed out",
    "public_url": "the receiver's public http(s) address; pull requests then link each record's review page",
    "metrics": "GET /metrics (Prometheus): off, public, or token (the default: only with RECEIVER_METRICS_TOKEN, off while none is set)",
    "metrics_token": "the bearer token a scraper sends for /metrics in token mode",
    "session_secret": "secret that signs volunteer sessions and frame leases (at least 16 characters); by default one is generated and kept in the journal",
    "session_limit": "most new volunteer sessions per client address group, like 20/hour; 0 turns it off",
    "session_seconds": "how long a volunteer session lasts, in seconds (30 days by default)",
    "lease_seconds": "how long next-frame leases a frame to the session it hands it to; only labels of leased frames count toward retirement",
    "label_cap": "most labels of one frame that are judged (the rest are kept and delivered); 0 for three times retire_after",
    "one_voice_per_address": "lease each frame to one session per client address group, so one network is one voice per frame (false for a lab behind one address)",
    "gold": (
        "expert labels (a folder, git repository or JSON file of records, as `receiver consensus --gold` reads): their frames count as"
        " retired, test new sessions and bar the ones far off them"
    ),
    "frame_choice": (
        "how next-frame picks among frames needing labels: uniform (fewest agreeing labels first, at random) or uncertain"
        " (frames whose imported predictions are most in doubt first; see `receiver predictions`)"
    ),
    "gold_screening": "hand sessions gold frames, 40 percent of a new session's frames, falling to 10 as it matches them (false: never; needs RECEIVER_GOLD)",
}


# Operator-chosen, yet written into pull request bodies: only characters that
# form no Markdown, HTML or mention there (no brackets, no @, no query).
_PUBLIC_URL = re.compile(r"https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~%/-]*)?")


def _public_url(raw: Any) -> str:
    text = str(raw).strip()
    if text and not _PUBLIC_URL.fullmatch(text):
        raise ValueError("expected an http(s) address like https://labels.example.org/receiver: a host name, an optional port and path, no spaces, query or fragment")
    return text.rstrip("/")


def _convert(name: str, raw: Any) -> Any:
    kind = {f.name: f.type for f in fields(Settings)}[name]
    if name == "videos":
        return load_videos(Path(str(raw))) if str(raw).strip() else ()
    if name == "public_url":
        return _public_url(raw)
    if name in ("rate_limit", "session_limit"):
        return RateLimit.parse(str(raw))
    if name == "session_secret" and raw and len(str(raw)) < 16:
        raise ValueError("expected a secret of at least 16 characters")
    if name == "allowed_origins":
        items = raw if isinstance(raw, list) else str(raw).split(",")
        return tuple(o.strip().rstrip("/") for o in items if o.strip())
    if kind == "float":
        try:
            value = float(raw)
        except (TypeError, ValueError):
            raise ValueError("expected a number of seconds") from None
        if not value >= 0:
            raise ValueError("expected a number of seconds, 0 or more")
        return value
    if kind in ("int",):
        if isinstance(raw, bool) or not str(raw).strip().isdigit():
            raise ValueError("expected a whole number")
        return int(raw)
    if kind == "bool":
        if isinstance(raw, bool):
            return raw
        lowered = str(raw).strip().lower()
        if lowered not in ("true", "false", "1", "0", "yes", "no"):
            raise ValueError("expected true or false")
        return lowered in ("true", "1", "yes")
    if "Path" in str(kind):
        return Path(str(raw)) if str(raw) else None
    return str(raw)


#: A journal setting naming a PostgreSQL database rather than an SQLite file.
_POSTGRES_URL = re.compile(r"\s*postgres(ql)?://", re.IGNORECASE)

_CHOICES = {
    "role": ("all", "intake", "deliver"),
    "store": ("local", "github"),
    "local_mode": ("direct", "branch"),
    "delivery_mode": ("pull-request", "direct", "batch"),
    "moderation": ("auto", "review"),
    "log_format": ("text", "json"),
    "metrics": ("off", "public", "token"),
    "frame_choice": ("uniform", "uncertain"),
    "server_frames": ("auto", "always"),
}


#: `RECEIVER_*` variables that are not the receiver's settings: the settings file's path, and what the gate reads in a workflow.
_OTHER_VARIABLES = frozenset({"RECEIVER_CONFIG", "RECEIVER_GATE_AUTHORS", "RECEIVER_MERGE_METHOD"})


def _unknown(key: str, known: Iterable[str]) -> str:
    """A sentence for a setting nobody reads, naming the closest one that exists."""
    prefix = "RECEIVER_" if key.startswith("RECEIVER_") else ""
    bare = {name.removeprefix(prefix): name for name in known}
    close = difflib.get_close_matches(key.removeprefix(prefix), list(bare), n=1, cutoff=0.75)
    hint = f"; did you mean {bare[close[0]]}?" if close else "; `receiver serve --help` lists every setting"
    return f"{key} is not a setting of the receiver{hint}"


def load_settings(
    environ: Mapping[str, str],
    *,
    config_file: Path | None = None,
    overrides: Mapping[str, Any] | None = None,
) -> Settings:
    """Combine the TOML file (if any), `RECEIVER_*` variables and explicit overrides into Settings."""
    values: dict[str, Any] = {}
    names = {f.name for f in fields(Settings)} - {"github_token", "journal_url"}
    config_file = config_file or (Path(environ["RECEIVER_CONFIG"]) if environ.get("RECEIVER_CONFIG") else None)
    if config_file is None and Path("receiver.toml").is_file():
        config_file = Path("receiver.toml")
    sources: list[tuple[str, Mapping[str, Any]]] = []
    if config_file is not None:
        try:
            table = tomllib.loads(config_file.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"cannot read settings file {config_file.name}: {exc}") from exc
        table = dict(table.get("receiver", table))
        unknown = sorted(set(table) - names)
        if unknown:
            raise SettingsError(f"{config_file.name}: {_unknown(unknown[0], names)}")
        sources.append((config_file.name, table))
    variables = {f"RECEIVER_{n.upper()}" for n in names}
    stray = sorted(k for k in environ if k.startswith("RECEIVER_") and k not in variables and k not in _OTHER_VARIABLES)
    if stray:
        raise SettingsError(_unknown(stray[0], variables))
    sources.append(("environment", {n: environ[f"RECEIVER_{n.upper()}"] for n in names if f"RECEIVER_{n.upper()}" in environ}))
    sources.append(("command line", {k: v for k, v in (overrides or {}).items() if v is not None}))
    for origin, source in sources:
        for name, raw in source.items():
            key = f"RECEIVER_{name.upper()}" if origin == "environment" else name
            if name == "journal" and _POSTGRES_URL.match(str(raw)):
                values["journal"], values["journal_url"] = None, str(raw).strip()
                continue
            if name == "journal":
                values.pop("journal_url", None)
            try:
                values[name] = _convert(name, raw)
            except ValueError as exc:
                raise SettingsError(f"{key}={raw!r} ({origin}): {exc}") from exc
            if name in _CHOICES and values[name] not in _CHOICES[name]:
                raise SettingsError(f"{key}={raw!r} ({origin}): expected one of {', '.join(_CHOICES[name])}")
    for name, most in (("rate_limit_ipv4_prefix", 32), ("rate_limit_ipv6_prefix", 128)):
        if values.get(name, 0) > most:
            raise SettingsError(f"RECEIVER_{name.upper()}={values[name]}: expected a prefix length from 0 to {most}")
    if values.get("retire_after", 1) < 1:
        raise SettingsError(f"RECEIVER_RETIRE_AFTER={values['retire_after']}: expected 1 or more agreeing labels")
    token = environ.get("GITHUB_TOKEN", "")
    settings = replace(Settings(), **values, github_token=token)
    settings = replace(settings, videos=place_videos(settings.videos, bases=settings.own_urls, server_frames=settings.server_frames))
    app = settings.github_app_id or settings.github_app_installation_id or settings.github_app_private_key_file
    if app and not (settings.github_app_id and settings.github_app_installation_id and settings.github_app_private_key_file):
        raise SettingsError(
            "a GitHub App needs all three of RECEIVER_GITHUB_APP_ID, RECEIVER_GITHUB_APP_INSTALLATION_ID and RECEIVER_GITHUB_APP_PRIVATE_KEY_FILE"
        )
    if settings.store == "github" and not (settings.github_repository and (settings.github_token or app)):
        raise SettingsError("store = github needs RECEIVER_GITHUB_REPOSITORY=OWNER/NAME, and GITHUB_TOKEN or a GitHub App")
    return settings
