"""A role that may only connect to the journal's database, and every advisory lock it can name.

Advisory locks are one namespace per database, open to any role that can
connect; what the receivers lock must therefore be out of a stranger's reach.
A stranger knows the code: the keys this project once used, and any hash of a
lock's name. It does not know the deployment's secret.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

import psycopg
from psycopg import conninfo, sql

from tests.support.pgcluster import Cluster

__all__ = ["stranger_url", "hold_every_nameable_lock", "NAMES"]

#: The locks' names as the code spells them, and the store names a deployment shows in public.
NAMES = ("journal schema", "limits check", "limits schema", "frame tally sync", "delivery owner/data", "delivery default", "delivery s")
#: Keys used before they were drawn from a secret: constants, and a hash of the store's name.
_OLD_KEYS = (0x7265636569766572, 0x6C696D6974730001, 0x6C696D6974730002, 0x6C696D6974730003, 0x6672616D65730000)


def _signed(digest: bytes) -> int:
    return int.from_bytes(digest[:8], "big", signed=True)


def nameable_keys(stores: tuple[str, ...] = ()) -> list[int]:
    """Every key a stranger can compute without the secret."""
    keys = set(_OLD_KEYS)
    for name in (*NAMES, *(f"delivery {store}" for store in stores)):
        keys.add(_signed(hashlib.sha256(name.encode()).digest()))
        keys.add(_signed(hashlib.sha256(f"pose-receiver {name}".encode()).digest()))
        keys.add(_signed(hmac.new(b"", name.encode(), hashlib.sha256).digest()))
    for store in stores:
        keys.add(_signed(hashlib.sha256(f"pose-receiver delivery {store}".encode()).digest()))
    return sorted(keys)


def stranger_url(cluster: Cluster, url: str) -> str:
    """A new role with LOGIN and CONNECT on this database only, and its URL (the test cluster trusts local logins)."""
    role = f"stranger_{uuid.uuid4().hex[:8]}"
    database = str(conninfo.conninfo_to_dict(url)["dbname"])
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(role)))
        admin.execute(sql.SQL("REVOKE CONNECT ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
        admin.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), sql.Identifier(role)))
    return url.replace("postgresql://receiver@", f"postgresql://{role}@", 1)


def hold_every_nameable_lock(url: str, stores: tuple[str, ...] = ()) -> psycopg.Connection[Any]:
    """A stranger's session holding, exclusively, every advisory lock it can name; close it to let go."""
    session = psycopg.connect(url, autocommit=True)
    for key in nameable_keys(stores):
        session.execute("SELECT pg_advisory_lock(%s)", (key,))
    return session
