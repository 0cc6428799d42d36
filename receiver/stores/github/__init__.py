"""The GitHub store: `store` delivers, `calls` paces and reads answers, `answers` classifies errors, `client` authenticates."""

from __future__ import annotations

from receiver.stores.github.answers import translate
from receiver.stores.github.client import AppCredentials, github_client
from receiver.stores.github.store import DeliveryMode, GitHubStore, Moderation

__all__ = ["GitHubStore", "DeliveryMode", "Moderation", "translate", "github_client", "AppCredentials"]
