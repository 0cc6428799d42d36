"""Delivering as a GitHub App: PyGithub trades a JWT signed with the app's key for an installation token."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from receiver.settings import SettingsError, load_settings
from receiver.stores import StoreUnavailable, build_store
from receiver.stores.github import AppCredentials, GitHubStore, github_client
from tests.github_fake import FakeClock, FakeGitHub
from tests.support.captured import numbered_record
from tests.support.github_world import BASE, REPO, fake_world

APP_ID, INSTALLATION = 4242, 77


def pem_pair() -> tuple[str, bytes]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    return private, public


@pytest.fixture(scope="module")
def keys() -> tuple[str, bytes]:
    return pem_pair()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def fake(clock: FakeClock, keys: tuple[str, bytes]) -> Iterator[FakeGitHub]:
    with fake_world(clock) as github:
        github.add_app(APP_ID, keys[1], INSTALLATION, "pose-receiver[bot]")
        yield github


def app_store(clock: FakeClock, private_key: str) -> GitHubStore:
    client = github_client(BASE, app=AppCredentials(APP_ID, private_key, INSTALLATION))
    return GitHubStore(REPO, clock=clock.now, sleep=clock.advance, github=client)


def test_pull_request_is_opened_by_the_apps_bot(fake: FakeGitHub, clock: FakeClock, keys: tuple[str, bytes]) -> None:
    """The installation token is fetched once and the PR's author is the app's bot."""
    [delivered] = app_store(clock, keys[0]).deliver([numbered_record(1)])
    [pull] = fake.pulls(REPO)
    assert pull.number == delivered.pull_number and pull.user == "pose-receiver[bot]"
    minted = [e for e in fake.requests() if e.path == f"/app/installations/{INSTALLATION}/access_tokens"]
    assert len(minted) == 1 and minted[0].status == 201


def test_key_of_another_app_is_refused_with_a_sentence(fake: FakeGitHub, clock: FakeClock) -> None:
    with pytest.raises(StoreUnavailable, match="GitHub App") as caught:
        app_store(clock, pem_pair()[0]).deliver([numbered_record(2)])
    assert "BEGIN" not in str(caught.value)
    assert fake.pulls(REPO) == []


def test_build_store_reads_the_apps_key_file(fake: FakeGitHub, keys: tuple[str, bytes], tmp_path: Path) -> None:
    """Settings name the app, its installation and a key file; the store then delivers as the app."""
    key_file = tmp_path / "app.pem"
    key_file.write_text(keys[0])
    settings = load_settings(
        {
            "RECEIVER_STORE": "github",
            "RECEIVER_GITHUB_REPOSITORY": REPO,
            "RECEIVER_GITHUB_API_URL": BASE,
            "RECEIVER_GITHUB_APP_ID": str(APP_ID),
            "RECEIVER_GITHUB_APP_INSTALLATION_ID": str(INSTALLATION),
            "RECEIVER_GITHUB_APP_PRIVATE_KEY_FILE": str(key_file),
            "RECEIVER_GITHUB_WRITE_INTERVAL": "0",
        },
    )
    store = build_store(settings)
    [delivered] = store.deliver([numbered_record(3)])
    assert delivered.pull_number == 1 and fake.pulls(REPO)[0].user == "pose-receiver[bot]"


def test_app_settings_must_come_together() -> None:
    with pytest.raises(SettingsError, match="all three"):
        load_settings({"RECEIVER_GITHUB_APP_ID": "1"})


def test_installation_token_answer_matches_githubs_description(fake: FakeGitHub, keys: tuple[str, bytes]) -> None:
    """The fake's 201 validates against githubkit's model of GitHub's OpenAPI description."""
    import time

    import jwt
    import requests
    from githubkit_schemas.latest.models import InstallationToken

    now = int(time.time())
    token = jwt.encode({"iat": now - 60, "exp": now + 540, "iss": str(APP_ID)}, keys[0], algorithm="RS256")
    response = requests.post(f"{BASE}/app/installations/{INSTALLATION}/access_tokens", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 201
    InstallationToken.model_validate(response.json())
