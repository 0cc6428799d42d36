"""Which packs of the local store to roll into one: size-tiered, so each object is rewritten a few times in its life.

Every batch leaves a small pack, and git looks an object up pack by pack
(fast-import checks each object it writes against every pack), so packs must
stay few; but rolling packs together rewrites their objects, and rolling the
small ones into the big one every time (what `git repack --geometric=2` does
with batches of equal size) rewrites each object once per doubling of the
repository. Grouping packs of similar size and rolling a group only once it
holds `fan_in` of them rewrites an object once per `fan_in`-fold growth
instead (twice up to a quarter of a million records of 500-record batches,
three times up to two million), with at most `fan_in - 1` packs of each size.

The objects to roll are read from the packs' indexes and handed to
`git pack-objects` as a list: `--stdin-packs` (what geometric repacking uses)
first walks the history reachable from the packs' commits, the whole
repository, which made each roll-up cost more as the repository grew.

This module decides and reads index bytes; the store runs git.
"""

from __future__ import annotations

from collections.abc import Mapping

__all__ = ["FAN_IN", "SPREAD", "packs_to_merge", "index_object_ids"]

#: How many packs of similar size are rolled into one.
FAN_IN = 8
#: Packs within this factor of the smallest in their group count as similar; below FAN_IN,
#: so the roll-up of a full group (FAN_IN times its smallest or more) never lands in that group again.
SPREAD = 4


def packs_to_merge(sizes: Mapping[str, int], *, fan_in: int = FAN_IN, spread: int = SPREAD) -> list[str]:
    """The smallest group of at least `fan_in` packs whose sizes lie within `spread` times the group's smallest; none when no group is that full."""
    ordered = sorted(sizes.items(), key=lambda item: (item[1], item[0]))
    start = 0
    while start < len(ordered):
        ceiling = max(ordered[start][1], 1) * spread
        end = start
        while end < len(ordered) and ordered[end][1] < ceiling:
            end += 1
        if end - start >= fan_in:
            return [name for name, _ in ordered[start:end]]
        start = end
    return []


_INDEX_MAGIC = b"\xfftOc\x00\x00\x00\x02"


def index_object_ids(index: bytes) -> list[bytes]:
    """The object ids (hex, as bytes) a version-2 pack index lists (git's `gitformat-pack`: header, fan-out table, sorted ids).

    ValueError for anything else (a SHA-256 repository's index, a damaged file): the store then leaves the packs as they are.
    """
    if index[:8] != _INDEX_MAGIC or len(index) < 8 + 1024:
        raise ValueError("not a version-2 pack index")
    count = int.from_bytes(index[8 + 1020 : 8 + 1024], "big")
    start = 8 + 1024
    # Each entry is 20 bytes for SHA-1; the index ends with two 20-byte checksums after the CRCs and offsets.
    if len(index) < start + count * (20 + 4 + 4) + 40:
        raise ValueError("the pack index is shorter than its count says")
    ids = index[start : start + 20 * count]
    return [ids[i : i + 20].hex().encode("ascii") for i in range(0, len(ids), 20)]
