"""Fill deploy/nginx.conf's placeholders: nginx in front of N receivers.

    python3 deploy/render_nginx.py --listen 0.0.0.0:80 --receiver 127.0.0.1:8001 \\
        --receiver 127.0.0.1:8002 --receiver 127.0.0.1:8003 \\
        --prefix /var/lib/pose-receiver-nginx --user www-data > /etc/nginx/nginx.conf

It only writes text: it starts nothing and checks nothing (`nginx -t` does).
The same placeholders can be filled with `envsubst`; this script exists so the
upstream's per-receiver lines and the body limit are written one way
everywhere, by the tests and benchmarks too.
"""

from __future__ import annotations

import argparse
import string
import sys
from collections.abc import Sequence
from pathlib import Path

__all__ = ["TEMPLATE", "render", "main"]

TEMPLATE = Path(__file__).resolve().with_name("nginx.conf")

#: The receiver's default RECEIVER_MAX_BODY_BYTES (receiver/settings.py).
DEFAULT_MAX_BODY = 64 * 1024


def render(
    receivers: Sequence[str],
    *,
    listen: str,
    prefix: Path,
    user: str | None = None,
    max_body: int = DEFAULT_MAX_BODY,
    max_fails: int = 1,
    fail_timeout: int = 5,
    template: Path = TEMPLATE,
) -> str:
    """The configuration text for `receivers` (each `host:port`), listening on `listen`."""
    if not receivers:
        raise ValueError("at least one receiver (host:port) is needed")
    servers = "\n".join(f"        server {r} max_fails={max_fails} fail_timeout={fail_timeout}s;" for r in receivers)
    values = {
        "USER_DIRECTIVE": f"user {user};" if user else "",
        "PREFIX": str(prefix),
        "LISTEN": listen,
        "UPSTREAM_SERVERS": servers,
        "MAX_BODY": str(max_body),
    }
    # substitute, not safe_substitute: a placeholder left unfilled is a mistake, and nginx's
    # own `$host`-style variables carry no braces, so only ${NAME} is ours.
    return _Braced(template.read_text(encoding="utf-8")).substitute(values)


class _Braced(string.Template):
    """Only `${NAME}` is a placeholder; nginx's `$remote_addr` is left alone."""

    pattern = r"""\$(?:(?P<escaped>\$\$)|\{(?P<braced>[A-Z_]+)\}|(?P<named>(?!))|(?P<invalid>(?!)))"""  # type: ignore[assignment]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--receiver", action="append", required=True, help="a receiver's host:port (repeat for each)")
    parser.add_argument("--listen", default="0.0.0.0:80", help="address:port nginx listens on (default 0.0.0.0:80)")
    parser.add_argument("--prefix", type=Path, default=Path("/var/lib/pose-receiver-nginx"), help="pid file, logs and temporary files")
    parser.add_argument("--user", help="the user nginx's workers run as when it starts as root (www-data on Debian)")
    parser.add_argument("--max-body", type=int, default=DEFAULT_MAX_BODY, help="the receivers' RECEIVER_MAX_BODY_BYTES (default 65536)")
    parser.add_argument("--max-fails", type=int, default=1, help="failures within --fail-timeout that take a receiver out (default 1)")
    parser.add_argument("--fail-timeout", type=int, default=5, help="seconds a failed receiver is left out (default 5)")
    args = parser.parse_args(argv)
    sys.stdout.write(
        render(args.receiver, listen=args.listen, prefix=args.prefix, user=args.user, max_body=args.max_body,
               max_fails=args.max_fails, fail_timeout=args.fail_timeout)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
