"""The `Receiver`: what every endpoint shares, built once by the app factory and kept on the app's state.

A module of its own so that the endpoints (`submissions`, `frame_api`) and the
app that builds them all read one definition, and none imports another to get it.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from starlette.requests import Request

from receiver.access.limitstate import Limits
from receiver.access.tokens import TokenWatch
from receiver.contract.decoding import SubmissionDecoder
from receiver.contract.validation import Validator
from receiver.delivery.worker import DeliveryWorker
from receiver.journal import Journal
from receiver.settings import Settings
from receiver.stores import Store
from receiver.volunteers.frames import FrameLedger
from receiver.volunteers.sessions import SessionKeys
from receiver.web.dashboard import AgreementSummary
from receiver.web.frame_images import FrameImages

__all__ = ["Receiver", "receiver_of"]


@dataclass
class Receiver:
    """Everything a request handler needs, built once per app."""

    settings: Settings
    validator: Validator
    tokens: TokenWatch
    limits: Limits
    clock: Callable[[], float]
    now: Callable[[], datetime]
    journal: Journal | None = None
    worker: DeliveryWorker | None = None
    store: Store | None = None
    tally: FrameLedger | None = None
    agreement: AgreementSummary | None = None
    #: Signs and checks volunteer sessions and lease tickets (set once the tally's database is open).
    sessions: SessionKeys | None = None
    #: How many new sessions each client address group may have.
    session_limits: Limits | None = None
    entropy: Callable[[], int] = lambda: secrets.randbits(64)
    #: Decodes, keeps and prefetches the frames of videos the receiver can decode (none: no such video).
    frame_images: FrameImages | None = None
    #: The submit path's fast intake (None: every submission takes the full path).
    decoder: SubmissionDecoder | None = None


def receiver_of(request: Request) -> Receiver:
    """The receiver an endpoint serves, from the app that received `request`."""
    receiver: Receiver = request.app.state.receiver
    return receiver
