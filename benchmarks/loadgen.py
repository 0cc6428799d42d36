"""A light HTTP/1.1 load generator for the intake benchmark: keep-alive clients on raw asyncio streams.

Each client holds one connection and sends pre-serialised requests one after
another, taking the next from a shared list, until the list runs out or the
duration ends; then it finishes the request in flight. Nothing is built or
encoded while the clock runs, so the generator spends its CPU on sockets, not
on JSON, and leaves the cores to the server it measures.

It reads what our three servers send (a status line, headers, a body framed by
Content-Length, chunked, or the connection closing) and reconnects when a
server closes after an answer (the prototype's HTTP/1.0 development server
does). It is not a general HTTP client: no TLS, no redirects, no pipelining.
"""

from __future__ import annotations

import asyncio
import copy
import json
import statistics
import time
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = ["LoadResult", "Submissions", "build_request", "run_load"]


def build_request(host: str, port: int, path: str, body: bytes, headers: Mapping[str, str] | None = None) -> bytes:
    """One POST with a JSON body, as bytes ready to write to a keep-alive connection."""
    lines = [
        f"POST {path} HTTP/1.1",
        f"Host: {host}:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        "Connection: keep-alive",
        *(f"{name}: {value}" for name, value in (headers or {}).items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


class Submissions:
    """Distinct valid submissions made from one captured body.

    Submission `n` moves the timestamp `n` milliseconds back (so no two are the
    same record, and none lies in the future), walks `frame_index` through the
    video and shifts each keypoint inside the frame, so the receiver sees a new
    record every time and never a duplicate.
    """

    def __init__(self, template: Mapping[str, Any]) -> None:
        self._template = copy.deepcopy(dict(template))
        stamp = str(self._template["timestamp"]).replace("Z", "+00:00")
        self._base = datetime.fromisoformat(stamp)
        self._next = 0

    def body(self, n: int) -> bytes:
        document = copy.deepcopy(self._template)
        width, height = document["frame_width"], document["frame_height"]
        document["frame_index"] = n % document["total_frames"]
        moment = self._base - timedelta(milliseconds=n)
        document["timestamp"] = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        for k, label in enumerate(document["labels"]):
            if label.get("placed"):
                label["pixel_x"] = (label["pixel_x"] + 7 * n + 13 * k) % width
                label["pixel_y"] = (label["pixel_y"] + 3 * n + 11 * k) % height
        return json.dumps(document, separators=(",", ":")).encode("utf-8")

    def take(self, count: int) -> Iterator[bytes]:
        """The next `count` bodies; no body repeats over the object's life."""
        start, self._next = self._next, self._next + count
        return (self.body(n) for n in range(start, start + count))


@dataclass
class LoadResult:
    """What one run saw. Latencies are of every answered request, in seconds."""

    clients: int
    elapsed: float
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    transport_errors: Counter[str] = field(default_factory=Counter)
    unfinished: int = 0
    generator_cpu: float = 0.0

    @property
    def accepted(self) -> int:
        return sum(n for status, n in self.statuses.items() if 200 <= status < 300)

    @property
    def errors(self) -> int:
        """Answers outside 2xx, transport failures, and requests still unanswered when the run was cut off."""
        non_2xx = sum(n for status, n in self.statuses.items() if not 200 <= status < 300)
        return non_2xx + sum(self.transport_errors.values()) + self.unfinished

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status >= 500)

    @property
    def accepted_per_second(self) -> float:
        return self.accepted / self.elapsed if self.elapsed > 0 else 0.0

    def percentile_ms(self, fraction: float) -> float | None:
        if not self.latencies:
            return None
        if len(self.latencies) == 1:
            return self.latencies[0] * 1000
        cuts = statistics.quantiles(self.latencies, n=1000, method="inclusive")
        return cuts[min(len(cuts) - 1, max(0, round(fraction * 1000) - 1))] * 1000


class _Closed(Exception):
    """The server closed the connection before a whole answer arrived."""


async def _read_answer(reader: asyncio.StreamReader) -> tuple[int, bool]:
    """Read one response; return its status and whether the connection may carry another request."""
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as exc:
        raise _Closed("closed before the status line") from exc
    lines = head.decode("latin-1").split("\r\n")
    version, status_text = lines[0].split(" ", 2)[:2]
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if sep:
            headers[name.strip().lower()] = value.strip()
    keep = version == "HTTP/1.1" and headers.get("connection", "").lower() != "close"
    try:
        if "content-length" in headers:
            await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                await reader.readexactly(size + 2)
                if size == 0:
                    break
        else:
            await reader.read()
            keep = False
    except asyncio.IncompleteReadError as exc:
        raise _Closed("closed inside the body") from exc
    return int(status_text), keep


async def _client(
    host: str,
    port: int,
    requests: Iterator[bytes],
    deadline: float,
    result: LoadResult,
    in_flight: list[int],
) -> None:
    writer: asyncio.StreamWriter | None = None
    reader: asyncio.StreamReader | None = None
    clock = time.perf_counter
    try:
        for request in requests:
            if clock() >= deadline:
                return
            in_flight[0] += 1
            try:
                if writer is None or reader is None:
                    reader, writer = await asyncio.open_connection(host, port)
                started = clock()
                writer.write(request)
                status, keep = await _read_answer(reader)
                result.latencies.append(clock() - started)
                result.statuses[status] += 1
            except (OSError, _Closed, ValueError) as exc:
                # Counted, then a fresh connection: a server that drops one
                # request should not silence the client for the rest of the run.
                result.transport_errors[type(exc).__name__] += 1
                keep = False
                await asyncio.sleep(0.01)
            finally:
                in_flight[0] -= 1
            if not keep and writer is not None:
                writer.close()
                writer, reader = None, None
    finally:
        if writer is not None:
            writer.close()


async def _run(host: str, port: int, requests: Sequence[bytes], clients: int, seconds: float, grace: float) -> LoadResult:
    result = LoadResult(clients=clients, elapsed=0.0)
    shared = iter(requests)
    in_flight = [0]
    cpu = time.process_time()
    started = time.perf_counter()
    deadline = started + seconds
    tasks = [asyncio.ensure_future(_client(host, port, shared, deadline, result, in_flight)) for _ in range(clients)]
    done, pending = await asyncio.wait(tasks, timeout=seconds + grace)
    result.elapsed = time.perf_counter() - started
    result.unfinished = in_flight[0]
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in done:
        task.result()  # re-raise anything the clients did not expect
    result.generator_cpu = time.process_time() - cpu
    # Throughput counts the duration asked for, or less when the requests ran
    # out first; the grace period only lets the last answers arrive.
    result.elapsed = min(result.elapsed, max(seconds, 1e-9))
    return result


def run_load(
    host: str,
    port: int,
    requests: Sequence[bytes],
    *,
    clients: int,
    seconds: float,
    grace: float = 10.0,
) -> LoadResult:
    """Send `requests` from `clients` keep-alive connections for at most `seconds` (then `grace` for the last answers)."""
    return asyncio.run(_run(host, port, requests, clients, seconds, grace))
