"""Session tokens and lease tickets: only the receiver's secret makes them, and each says exactly one thing."""

from __future__ import annotations

import re

import pytest

from receiver.volunteers.sessions import PSEUDONYM, SessionError, SessionKeys

NOW = 1_800_000_000.0
KEYS = SessionKeys("a-secret-of-the-receiver", lifetime=3600.0)
URL = "https://videos.example.org/mouse-1.mp4"


def test_an_issued_token_names_its_session_and_pseudonym() -> None:
    """Checking the token gives back the session it was issued for."""
    token, session = KEYS.issue(NOW)
    assert KEYS.verify(token, NOW + 10) == session
    assert re.fullmatch(PSEUDONYM, session.pseudonym)


def test_each_session_has_its_own_pseudonym() -> None:
    """Two sessions issued at the same second are two volunteers."""
    assert KEYS.issue(NOW)[1].pseudonym != KEYS.issue(NOW)[1].pseudonym


def test_the_pseudonym_does_not_contain_the_token() -> None:
    """The public name reveals nothing a client could send as the session."""
    token, session = KEYS.issue(NOW)
    assert session.pseudonym[2:] not in token and session.ident not in session.pseudonym


@pytest.mark.parametrize("position", [3, 10, 30, -3])
def test_a_token_changed_anywhere_is_refused(position: int) -> None:
    """One character changed, in the id, the time or the signature: not a session of this receiver."""
    token, _ = KEYS.issue(NOW)
    changed = token[:position] + ("A" if token[position] != "A" else "B") + token[position + 1 :]
    with pytest.raises(SessionError, match="not one this receiver issued"):
        KEYS.verify(changed, NOW)


def test_a_token_of_another_receiver_is_refused() -> None:
    """Another secret, another receiver: its sessions are foreign here."""
    token, _ = SessionKeys("another-receivers-secret", lifetime=3600.0).issue(NOW)
    with pytest.raises(SessionError, match="not one this receiver issued"):
        KEYS.verify(token, NOW)


def test_an_expired_token_is_refused_with_its_own_sentence() -> None:
    """Past its lifetime the session says it expired, so the page knows to ask anew."""
    token, _ = KEYS.issue(NOW)
    with pytest.raises(SessionError, match="expired"):
        KEYS.verify(token, NOW + 3601)


@pytest.mark.parametrize("token", ["", "s1", "s1.a.b.c", "s1.abc.-5.xyz", "x" * 5000, "s1.é.1.2"])
def test_malformed_tokens_are_refused(token: str) -> None:
    """Anything that is not a token of this shape is refused with the same sentence."""
    with pytest.raises(SessionError):
        KEYS.verify(token, NOW)


class TestLeaseTickets:
    def test_a_ticket_assigns_exactly_its_session_video_and_frame(self) -> None:
        """Valid for the frame it was made for; not for another frame, video or session."""
        _, session = KEYS.issue(NOW)
        _, other = KEYS.issue(NOW)
        ticket = KEYS.ticket(session, URL, 7, NOW + 60)
        assert KEYS.assigned(ticket, session, URL, 7, NOW)
        assert not KEYS.assigned(ticket, session, URL, 8, NOW)
        assert not KEYS.assigned(ticket, session, URL + "?x", 7, NOW)
        assert not KEYS.assigned(ticket, other, URL, 7, NOW)

    def test_an_expired_ticket_assigns_nothing(self) -> None:
        """A lease ends when it says."""
        _, session = KEYS.issue(NOW)
        ticket = KEYS.ticket(session, URL, 7, NOW + 60)
        assert not KEYS.assigned(ticket, session, URL, 7, NOW + 61)

    @pytest.mark.parametrize("ticket", [None, "", "t1.1.x", "t1.99999999999.AAAAAAAAAAAAAAAAAAAAAA", "z" * 500])
    def test_a_missing_or_made_up_ticket_assigns_nothing(self, ticket: str | None) -> None:
        """Without the receiver's secret no ticket can be made."""
        _, session = KEYS.issue(NOW)
        assert not KEYS.assigned(ticket, session, URL, 7, NOW)
