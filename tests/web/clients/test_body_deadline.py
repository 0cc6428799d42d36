"""A submission's body must be all in within RECEIVER_BODY_SECONDS: later, 408 and the connection closed."""

from __future__ import annotations

from tests.web.clients.conftest import Answer, AppFactory, Poster, submission_bytes


def test_a_body_that_stops_arriving_is_answered_408_with_a_sentence(make_app: AppFactory) -> None:
    """Headers and a few bytes, then nothing: answered 408, saying the submission was not saved and what to do."""
    client = make_app(body_seconds=0.05)
    body = submission_bytes(1)
    stalled = Poster(client.app, "192.0.2.1", [body[:10]], declared=len(body), complete=False)
    answer: Answer = client.portal.call(stalled)
    assert answer.status == 408
    assert answer.json()["error"].startswith("The submission did not arrive within 0.05 seconds, so it was not saved;")


def test_the_408_closes_the_connection(make_app: AppFactory) -> None:
    """The answer says Connection: close, so uvicorn frees the connection for someone else."""
    client = make_app(body_seconds=0.05)
    body = submission_bytes(1)
    answer = client.portal.call(Poster(client.app, "192.0.2.1", [body[:10]], declared=len(body), complete=False))
    assert answer.headers["connection"] == "close"


def test_a_refused_client_that_stalls_is_answered_408_too(make_app: AppFactory) -> None:
    """A submission refused before its body is read (here 401) still may not hold the connection past the deadline."""
    client = make_app(body_seconds=0.05, public=False)
    body = submission_bytes(1)
    answer = client.portal.call(Poster(client.app, "192.0.2.1", [body[:10]], declared=len(body), complete=False))
    assert answer.status == 408


def test_a_body_sent_in_parts_within_the_deadline_is_kept(make_app: AppFactory) -> None:
    """The deadline is for the whole body, not for each part: parts arriving in time make a 202."""
    client = make_app(body_seconds=5)
    body = submission_bytes(1)
    answer = client.portal.call(Poster(client.app, "192.0.2.1", [body[:10], body[10:20], body[20:]], declared=len(body)))
    assert answer.status == 202
