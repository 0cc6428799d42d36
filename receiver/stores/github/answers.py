"""GitHub's answers as store errors: kept whole, classified once.

The one place that decides what a GitHub error means for delivery (after
gidgethub's `decipher_response`): *retry later* for 5xx, a dropped
connection, a limit or an answer the receiver cannot read; *refused* for a
4xx that repeating will not change; *conflict* when a branch moved. Nothing
here decides that a record is already delivered: that is proved by content
in `receiver.stores.adoption`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from github import GithubException

from receiver.stores.errors import (
    Answer,
    FieldError,
    StoreConflict,
    StoreError,
    StoreRateLimited,
    StoreRefused,
    StoreUnavailable,
)

__all__ = ["answer_from", "classify", "translate", "unreadable", "unreachable"]

#: How long to wait on a secondary limit that names no time (GitHub asks for "at least one minute").
SECONDARY_WAIT = 60.0


def _header(headers: Mapping[str, str] | None, name: str) -> str | None:
    for key, value in (headers or {}).items():
        if key.lower() == name:
            return value
    return None


def _seconds(text: str | None) -> float | None:
    try:
        return max(0.0, float(text)) if text is not None else None
    except ValueError:
        return None


def _field_errors(raw: Any) -> tuple[FieldError, ...]:
    if not isinstance(raw, list):
        return ()
    found = []
    for item in raw[:20]:
        if isinstance(item, dict):
            found.append(FieldError(*(str(item.get(k) or "")[:200] for k in ("resource", "code", "field", "message"))))
        elif isinstance(item, str):
            found.append(FieldError(message=item[:200]))
    return tuple(found)


def answer_from(exc: GithubException) -> Answer:
    """What GitHub said in an error answer, with the headers that matter for waiting."""
    data = exc.data if isinstance(exc.data, dict) else {}
    headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
    return Answer(
        status=exc.status,
        message=str(data.get("message") or "")[:300],
        errors=_field_errors(data.get("errors")),
        retry_after=_seconds(_header(headers, "retry-after")),
        documentation_url=str(data.get("documentation_url") or "")[:200],
        headers=headers,
    )


def classify(answer: Answer, now: float) -> StoreError:
    """What the delivery worker should do about one GitHub error answer."""
    status, reason = answer.status or 0, answer.reason()
    limited = status in (403, 429)
    if limited and answer.retry_after is not None:
        return StoreRateLimited(f"GitHub asked to wait {answer.retry_after:.0f} s ({reason[:120]})", retry_after=answer.retry_after, answer=answer)
    reset = _seconds(_header(answer.headers, "x-ratelimit-reset"))
    if limited and _header(answer.headers, "x-ratelimit-remaining") == "0" and reset is not None:
        return StoreRateLimited("GitHub's hourly request limit is used up", retry_after=max(1.0, reset - now), answer=answer)
    if limited and "rate limit" in answer.message.lower():
        return StoreRateLimited(f"GitHub rate limit ({reason[:120]})", retry_after=SECONDARY_WAIT, answer=answer)
    if status == 429:
        return StoreRateLimited(f"GitHub answered {reason[:120]}", retry_after=SECONDARY_WAIT, answer=answer)
    if status == 401:
        return StoreUnavailable(f"GitHub refused the credentials ({reason[:80]}); check GITHUB_TOKEN or the GitHub App settings", answer=answer)
    if status >= 500 or status < 400:
        return StoreUnavailable(f"GitHub answered {reason[:160]}; retrying", answer=answer)
    if status == 409:
        return StoreConflict(f"GitHub reported a conflict: {reason[:160]}", answer=answer)
    return StoreRefused(f"GitHub refused: {reason[:240]}", answer=answer)


def translate(exc: GithubException, now: float) -> StoreError:
    """`classify(answer_from(exc))`: a PyGithub exception as the store error it means."""
    return classify(answer_from(exc), now)


def unreadable(what: str) -> StoreUnavailable:
    """An answer the receiver cannot read: never taken for success, retried later."""
    return StoreUnavailable(f"GitHub's answer to {what} could not be read; retrying", answer=Answer(status=None, message="unreadable answer"))


def unreachable(kind: str) -> StoreUnavailable:
    """No answer at all: the connection failed or dropped."""
    return StoreUnavailable(f"GitHub could not be reached ({kind}); retrying", answer=Answer(status=None, message=kind))
