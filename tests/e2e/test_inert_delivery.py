"""Hostile volunteer text over HTTP to `receiver serve` delivering to the fake GitHub: refused, or delivered inert."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import httpx

from receiver.contract.records import video_key
from receiver.stores.pull_requests import TITLE_PREFIX
from tests.e2e.conftest import FAST, wait_delivered
from tests.support.captured import captured_body, numbered_submission
from tests.support.hostile import HOSTILE, HOSTILE_URLS, constructs
from tests.support.servers import FakeGitHubProcess, ReceiverProcess

JSON = {"Content-Type": "application/json"}



def hostile_submissions() -> list[tuple[str, dict[str, Any]]]:
    """(the pointer the hostile text sits at, a distinct submission) for every corpus string in every place."""
    cases: list[tuple[str, dict[str, Any]]] = []
    for text in HOSTILE:
        cases.append(("/video_url", {"video_url": f"https://example.org/{text}"}))
        cases.append(("/labels/0/name", {"name": text}))
        cases.append(("/metadata/tool", {"metadata": {"tool": text}}))
    cases += [("/video_url", {"video_url": url}) for url in HOSTILE_URLS]
    submissions = []
    for n, (where, change) in enumerate(cases, start=1):
        body = numbered_submission(n)
        if "name" in change:
            body["labels"][0]["name"] = change["name"]
        else:
            body.update(change)
        submissions.append((where, body))
    return submissions


def commit_messages(github: FakeGitHubProcess) -> list[str]:
    objects: dict[str, dict[str, str]] = github.control("GET", "objects")  # type: ignore[assignment]
    raw = [base64.b64decode(o["body"]).decode("utf-8") for o in objects.values() if o["type"] == "commit"]
    return [text.split("\n\n", 1)[1] for text in raw]


def test_hostile_text_is_refused_with_a_pointer_or_delivered_inert(github: FakeGitHubProcess, tmp_path: Path) -> None:
    """Each hostile string in a URL, a label name or a metadata value: 422 at its pointer, or a PR and commit where nothing can act."""
    accepted: list[dict[str, Any]] = []
    ours: list[str] = [TITLE_PREFIX, "<!-- receiver-record: "]
    with ReceiverProcess(tmp_path, github.receiver_settings(**FAST)) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        for where, body in hostile_submissions():
            response = client.post("/api/labels", json=body, headers=JSON)
            assert response.status_code in (202, 422), (where, body, response.text)
            if response.status_code == 422:
                assert where in [p["pointer"] for p in response.json()["problems"]], (body, response.text)
                continue
            answer = response.json()
            accepted.append(answer)
            ours += [answer["id"], answer["path"], video_key(body["video_url"])]
        wait_delivered(server.url, timeout=300)
    pulls = github.state()["pulls"]
    assert len(accepted) > 100 and len(pulls) == len(accepted)
    with httpx.Client(base_url=github.url, headers={"Authorization": f"token {github.token}"}, timeout=30) as api:
        fetched = [api.get(f"/repos/{github.repo}/pulls/{summary['number']}").json() for summary in pulls]
    for pull in fetched:
        assert constructs(pull["title"], markdown=True, ours=ours) == [], pull["title"]
        assert constructs(pull["body"], markdown=True, ours=ours + [" -->"]) == [], pull["body"]
    messages = commit_messages(github)
    assert len(messages) > len(accepted)
    for message in messages:
        assert constructs(message, markdown=False, ours=ours) == [], message


def test_a_captured_submission_pr_shows_its_frame_as_digits_and_links_its_configured_video(github: FakeGitHubProcess, tmp_path: Path) -> None:
    """A page's captured POST of a configured video, over HTTP: the PR title and body say its frame as digits and link the video."""
    body = captured_body()
    body["frame_index"], body["total_frames"] = 1198, 3000
    video = {"url": body["video_url"], "fps": body["fps"], "frames": body["total_frames"], "width": body["frame_width"], "height": body["frame_height"]}
    videos = tmp_path / "videos.json"
    videos.write_text(json.dumps([video]), encoding="utf-8")
    with ReceiverProcess(tmp_path, github.receiver_settings(RECEIVER_VIDEOS=str(videos), **FAST)) as server:
        response = httpx.post(f"{server.url}/api/labels", json=body, headers=JSON, timeout=30)
        assert response.status_code == 202, response.text
        wait_delivered(server.url)
    (summary,) = github.state()["pulls"]
    pull = httpx.get(f"{github.url}/repos/{github.repo}/pulls/{summary['number']}", headers={"Authorization": f"token {github.token}"}, timeout=30).json()
    assert "frame 1198 of" in pull["title"] and "**Frame:** 1198 of" in pull["body"]
    assert f"]({body['video_url']})" in pull["body"]
    assert "\N{REPLACEMENT CHARACTER}" not in pull["title"] + pull["body"]
