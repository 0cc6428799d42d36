"""Which packs the local store rolls together, and reading a pack index's object ids."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from receiver.stores.packs import index_object_ids, packs_to_merge


class TestPacksToMerge:
    def test_fewer_than_eight_similar_packs_stay(self) -> None:
        """Seven batch-sized packs are not worth a roll-up yet."""
        assert packs_to_merge({f"p{i}.pack": 300_000 + i for i in range(7)}) == []

    def test_eight_similar_packs_are_rolled_together(self) -> None:
        """The eighth pack of a size completes a group: all eight are rolled."""
        sizes = {f"p{i}.pack": 300_000 + 1_000 * i for i in range(8)}
        assert sorted(packs_to_merge(sizes)) == sorted(sizes)

    def test_big_packs_are_left_out_of_a_small_roll_up(self) -> None:
        """A roll-up of small packs never rewrites the big ones beside them."""
        sizes = {"big.pack": 40_000_000, "mid.pack": 2_500_000, **{f"p{i}.pack": 300_000 for i in range(8)}}
        assert sorted(packs_to_merge(sizes)) == [f"p{i}.pack" for i in range(8)]

    def test_a_roll_up_lands_in_the_next_size_tier(self) -> None:
        """Eight packs rolled into one are eight times bigger: they never join the group they came from."""
        rolled = 8 * 300_000
        assert packs_to_merge({"rolled.pack": rolled, **{f"p{i}.pack": 300_000 for i in range(7)}}) == []

    def test_the_smallest_full_group_goes_first(self) -> None:
        """With two full tiers, the smaller one is rolled."""
        small = {f"s{i}.pack": 300_000 for i in range(8)}
        large = {f"l{i}.pack": 2_400_000 for i in range(8)}
        assert sorted(packs_to_merge({**small, **large})) == sorted(small)


class TestIndexObjectIds:
    def test_ids_are_the_packs_objects(self, tmp_path: Path) -> None:
        """The ids read from an index git wrote are exactly the objects git lists for that pack."""
        repository = tmp_path / "r.git"
        subprocess.run(["git", "init", "--quiet", "--bare", str(repository)], check=True)
        blobs = [f"record {n}\n".encode() for n in range(5)]
        stream = b"".join(b"blob\ndata %d\n%s\n" % (len(blob), blob) for blob in blobs)
        subprocess.run(["git", f"--git-dir={repository}", "-c", "fastimport.unpackLimit=0", "fast-import", "--quiet"], input=stream, check=True)
        [index] = (repository / "objects" / "pack").glob("*.idx")
        listed = subprocess.run(["git", "show-index"], input=index.read_bytes(), capture_output=True, check=True).stdout.split()
        assert index_object_ids(index.read_bytes()) == sorted(listed[1::3])
        assert len(listed[1::3]) == 5

    def test_anything_but_a_version_2_index_is_refused(self) -> None:
        """Bytes that are no version-2 index raise, so the store leaves its packs alone."""
        with pytest.raises(ValueError, match="version-2"):
            index_object_ids(b"PACK" + bytes(2000))
