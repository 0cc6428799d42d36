"""Volunteer sessions: identity the receiver issues, never one a client declares.

A session token is `s1.<id>.<issued>.<mac>`: a random id, the second it was
issued, and an HMAC-SHA256 over both with the receiver's secret. Checking one
is a pure computation (no database read), so it costs nothing on the intake
path, and nobody without the secret can make one, alter one, or revive one
past its lifetime. A session's *pseudonym* (`v-` and ten letters or digits) is
another HMAC of its id: stable, short, and not reversible to the token, so
public answers and pull requests name volunteers by it.

A *lease ticket* proves that next-frame handed a frame to a session until a
time: an HMAC over the session's id, the video's URL, the frame and that time.
A label that carries a valid ticket for its own frame is *assigned*; only
assigned labels count toward retirement.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

__all__ = ["Session", "SessionError", "SessionKeys", "new_secret", "PSEUDONYM"]

#: Longest token or ticket read at all: anything longer is refused before any work.
_MOST_CHARACTERS = 200
_ID_BYTES = 16
_MAC_BYTES = 16
#: What a pseudonym looks like (also the record schema's pattern for `receipt.volunteer`).
PSEUDONYM = r"v-[a-z2-7]{10}"


class SessionError(ValueError):
    """A session token that cannot be used; the message says what the volunteer's page should do."""


@dataclass(frozen=True)
class Session:
    """A checked session: its id (secret to its holder), when it was issued, and its public pseudonym."""

    ident: str
    issued: int
    pseudonym: str


def new_secret() -> str:
    """A fresh secret for signing sessions and tickets (hex, 256 bits)."""
    return secrets.token_hex(32)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


class SessionKeys:
    """Issues and checks session tokens and lease tickets with one secret."""

    def __init__(self, secret: str, *, lifetime: float) -> None:
        if len(secret) < 16:
            raise ValueError("the session secret must be at least 16 characters")
        self._key = secret.encode("utf-8")
        self.lifetime = lifetime

    def _mac(self, *parts: str) -> str:
        message = "\x1f".join(parts).encode("utf-8")
        return _b64(hmac.new(self._key, message, hashlib.sha256).digest()[:_MAC_BYTES])

    def pseudonym(self, ident: str) -> str:
        """The public name of session `ident`: the same for every request of the session, useless for forging it."""
        digest = hmac.new(self._key, b"pseudonym\x1f" + ident.encode("ascii"), hashlib.sha256).digest()
        return "v-" + base64.b32encode(digest).decode("ascii")[:10].lower()

    def issue(self, now: float) -> tuple[str, Session]:
        """A new session, issued at `now` (seconds since the epoch), and its token."""
        ident = _b64(secrets.token_bytes(_ID_BYTES))
        issued = int(now)
        token = f"s1.{ident}.{issued}.{self._mac('session', ident, str(issued))}"
        return token, Session(ident, issued, self.pseudonym(ident))

    def verify(self, token: str, now: float) -> Session:
        """The session a token names, or `SessionError` saying why it cannot be used."""
        parts = token.split(".") if len(token) <= _MOST_CHARACTERS else []
        if len(parts) != 4 or parts[0] != "s1" or not parts[2].isascii() or not parts[2].isdigit():
            raise SessionError("This volunteer session is not one this receiver issued; the page asks for a new one.")
        _, ident, issued, mac = parts
        if not hmac.compare_digest(mac.encode("ascii", "replace"), self._mac("session", ident, issued).encode("ascii")):
            raise SessionError("This volunteer session is not one this receiver issued; the page asks for a new one.")
        if now - int(issued) > self.lifetime:
            raise SessionError("This volunteer session has expired; the page asks for a new one.")
        return Session(ident, int(issued), self.pseudonym(ident))

    def ticket(self, session: Session, video_url: str, frame: int, until: float) -> str:
        """Proof that `frame` of `video_url` was leased to `session` until `until` (seconds since the epoch)."""
        expires = str(int(until))
        return f"t1.{expires}.{self._mac('lease', session.ident, video_url, str(frame), expires)}"

    def assigned(self, ticket: str | None, session: Session, video_url: str, frame: int, now: float) -> bool:
        """Whether `ticket` is this session's unexpired lease of exactly this frame."""
        if ticket is None or len(ticket) > _MOST_CHARACTERS:
            return False
        parts = ticket.split(".")
        if len(parts) != 3 or parts[0] != "t1" or not parts[1].isascii() or not parts[1].isdigit():
            return False
        _, expires, mac = parts
        expected = self._mac("lease", session.ident, video_url, str(frame), expires)
        return hmac.compare_digest(mac.encode("ascii", "replace"), expected.encode("ascii")) and now <= int(expires)
