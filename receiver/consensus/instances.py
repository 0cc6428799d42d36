"""Several animals in one frame: which volunteers' instances are the same animal, and how many animals there are.

Each volunteer's instances of a frame are matched to the frame's animals by
an assignment on OKS (with the noise per keypoint the caller gives: the
prior's, or the learned sigmas), each symmetric pair scored the better way
round, so an instance whose left and right paws are swapped still matches
its animal (the swap itself is repaired later, as for a single animal). The
assignment is greedy on OKS, best pair first, one instance per animal per
volunteer: for animals a few body lengths apart it is the optimal one, and it
needs nothing beyond numpy.

The animals are found in two passes: the first builds them volunteer by
volunteer from the most typical volunteer's (an instance that matches none
starts a new one), the second matches every volunteer again against the
first pass's medians. Keypoints a volunteer gave to the wrong one of two of
its animals are then found (`crossings`) as left/right swaps are within one. An animal
counts when at least half of the frame's volunteers placed it; the others
(a volunteer's spurious animal) are dropped, an instance that matched no
animal takes one its volunteer left free (so a random clicker is judged, as
an outlier), and a frame where volunteers sent different numbers of animals
is flagged for review. Values in, values
out; it decides nothing about the consensus point, which `model.solve`
finds per matched animal as for a single one.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from receiver.consensus.noise import KAPPA
from receiver.consensus.swaps import PLAUSIBLE

__all__ = ["MATCH_OKS", "Matching", "match_instances", "pair_oks"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Least OKS for an instance to be taken as a known animal rather than another one.
MATCH_OKS = 0.1


@dataclass(frozen=True)
class Matching:
    """One frame's instances matched to its animals.

    `animal[v][i]` is the animal of volunteer v's instance i, or -1 when it
    matched no animal that counts (a spurious one); `animals` how many count;
    `counts` how many each volunteer sent; `disputed` whether they differ.
    """

    animal: tuple[tuple[int, ...], ...]
    animals: int
    counts: tuple[int, ...]
    #: Per volunteer, the keypoints it gave to the wrong one of two of its animals: (instance, other instance, keypoint), to exchange back.
    crossings: tuple[tuple[tuple[int, int, int], ...], ...] = ()

    @property
    def disputed(self) -> bool:
        return any(count != self.animals for count in self.counts)


def pair_oks(a: FloatArray, b: FloatArray, sigma: FloatArray, diagonal: float, pairs: IntArray) -> FloatArray:
    """OKS of every instance of `a` (n, K, 2) against every one of `b` (m, K, 2), each symmetric pair the better way round: (n, m).

    Only keypoints placed in both count; a pair of instances with none in common scores 0.
    """
    d2 = _squared(a[:, None], b[None, :])  # (n, m, K)
    if len(pairs):
        i, j = pairs[:, 0], pairs[:, 1]
        cross_i = _squared(a[:, None][..., i, :], b[None, :][..., j, :])  # (n, m, P): a's i against b's j
        cross_j = _squared(a[:, None][..., j, :], b[None, :][..., i, :])
        kept = np.nan_to_num(d2[..., i], nan=np.inf) + np.nan_to_num(d2[..., j], nan=np.inf)
        crossed = np.nan_to_num(cross_i, nan=np.inf) + np.nan_to_num(cross_j, nan=np.inf)
        swap = crossed < kept
        d2 = d2.copy()
        d2[..., i], d2[..., j] = np.where(swap, cross_i, d2[..., i]), np.where(swap, cross_j, d2[..., j])
    placed = np.isfinite(d2)
    tolerance = (KAPPA * sigma * diagonal) ** 2
    terms = np.where(placed, np.exp(-np.nan_to_num(d2, nan=np.inf) / (2 * tolerance)), 0.0)
    counts = placed.sum(axis=-1)
    result: FloatArray = np.where(counts > 0, terms.sum(axis=-1) / np.maximum(counts, 1), 0.0)
    return result


def _squared(a: FloatArray, b: FloatArray) -> FloatArray:
    dx = a[..., 0] - b[..., 0]
    dy = a[..., 1] - b[..., 1]
    result: FloatArray = dx * dx + dy * dy
    return result


def _assign(score: FloatArray, least: float) -> IntArray:
    """Each row's column (-1 for none): the best-scoring pair first, each row and column used once, none below `least`."""
    chosen = np.full(score.shape[0], -1, dtype=np.int64)
    if score.size == 0:
        return chosen
    order = np.argsort(-score, axis=None, kind="stable")
    used_rows: set[int] = set()
    used_columns: set[int] = set()
    for flat in order.tolist():
        row, column = divmod(flat, score.shape[1])
        if score[row, column] < least:
            break
        if row in used_rows or column in used_columns:
            continue
        chosen[row] = column
        used_rows.add(row)
        used_columns.add(column)
    return chosen


def _centres(instances: Sequence[FloatArray], animal: Sequence[IntArray], count: int, k: int) -> FloatArray:
    """Each animal's coordinate-wise median of its matched instances, (count, K, 2)."""
    centres = np.full((count, k, 2), np.nan)
    for a in range(count):
        members = [points[np.flatnonzero(slots == a)] for points, slots in zip(instances, animal, strict=True)]
        stacked = np.concatenate(members) if members else np.zeros((0, k, 2))
        if len(stacked):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # a keypoint nobody placed: its median is NaN, as meant
                centres[a] = np.nanmedian(stacked, axis=0)
    return centres


def _seed(instances: Sequence[FloatArray], counts: Sequence[int], sigma: FloatArray, diagonal: float, pairs: IntArray) -> int:
    """The volunteer to start the animals from: one who sent the median number, and whose instances the others' fit best.

    The median number makes a spurious or a missed animal the exception; the
    best fit keeps a volunteer who mixed two animals' keypoints from setting
    half-and-half animals that honest instances would fit only by halves.
    """
    median = sorted(counts)[(len(counts) - 1) // 2]
    candidates = [v for v, count in enumerate(counts) if count == median]
    if len(candidates) == 1 or median == 0:
        return candidates[0]
    fit = [
        sum(float(pair_oks(instances[v], instances[u], sigma, diagonal, pairs).max(axis=1).sum()) for u in range(len(instances)) if u != v and counts[u])
        for v in candidates
    ]
    return candidates[int(np.argmax(fit))]


def match_instances(
    instances: Sequence[FloatArray], sigma: FloatArray, diagonal: float, pairs: IntArray, *, least: float = MATCH_OKS
) -> Matching:
    """Match each volunteer's instances (`instances[v]` (n_v, K, 2), NaN where not placed) to the frame's animals."""
    k = len(sigma)
    counts = tuple(len(points) for points in instances)
    if not instances:
        return Matching((), 0, ())
    seed = _seed(instances, counts, sigma, diagonal, pairs)
    centres = instances[seed].copy()
    for v, points in enumerate(instances):
        if v == seed or not len(points):
            continue
        chosen = _assign(pair_oks(points, centres, sigma, diagonal, pairs), least)
        new = points[chosen < 0]
        if len(new):
            centres = np.concatenate([centres, new])
    animal = [_assign(pair_oks(points, centres, sigma, diagonal, pairs), least) for points in instances]
    centres = _centres(instances, animal, len(centres), k)
    animal = [_assign(pair_oks(points, centres, sigma, diagonal, pairs), least) for points in instances]
    support = np.zeros(len(centres), dtype=np.int64)
    for slots in animal:
        support[slots[slots >= 0]] += 1
    kept = np.flatnonzero(2 * support >= len(instances))
    # Keep the animals in a stable order: most support first, then left to right.
    left = np.array([np.nanmean(centres[a, :, 0]) if np.isfinite(centres[a, :, 0]).any() else np.inf for a in kept])
    kept = kept[np.lexsort((left, -support[kept]))] if len(kept) else kept
    renumber = np.full(len(centres), -1, dtype=np.int64)
    renumber[kept] = np.arange(len(kept))
    matched = [[int(renumber[s]) if s >= 0 else -1 for s in slots.tolist()] for slots in animal]
    _attach_strays(matched, instances, centres[kept], sigma, diagonal, pairs)
    crossings = _crossings(instances, matched, len(kept), sigma, diagonal)
    return Matching(tuple(tuple(slots) for slots in matched), len(kept), counts, crossings)


def _modes(instances: Sequence[FloatArray], matched: Sequence[Sequence[int]], animals: int, radius: FloatArray) -> FloatArray:
    """Each animal's keypoints where most of its matched clicks gather: the mean of the click with the most neighbours within `radius` (K,) and those neighbours.

    Not the median: when two of six volunteers give an animal another's paw,
    the median of each coordinate falls between the two places.
    """
    k = len(radius)
    modes = np.full((animals, k, 2), np.nan)
    for a in range(animals):
        members = [points[i] for points, slots in zip(instances, matched, strict=True) for i, slot in enumerate(slots) if slot == a]
        if not members:
            continue
        clicks = np.stack(members)  # (m, K, 2)
        near = _squared(clicks[:, None], clicks[None, :]) <= radius**2  # (m, m, K), NaN compares False
        counts = near.sum(axis=1)  # (m, K)
        best = np.argmax(counts, axis=0)  # (K,)
        for j in range(k):
            if counts[best[j], j] == 0:
                continue
            modes[a, j] = clicks[near[best[j], :, j], j].mean(axis=0)
    return modes


def _crossings(instances: Sequence[FloatArray], matched: Sequence[Sequence[int]], animals: int, sigma: FloatArray, diagonal: float) -> tuple[tuple[tuple[int, int, int], ...], ...]:
    """Keypoints a volunteer put on the wrong one of two of its animals, found as left/right swaps are within one (`swaps`).

    For two instances matched to animals A and B and a keypoint, the clicks
    exchanged must be plausible for honest clicks and the clicks as given not.
    """
    scale = sigma * diagonal  # (K,) pixels
    modes = _modes(instances, matched, animals, KAPPA * 3 * scale)
    found: list[tuple[tuple[int, int, int], ...]] = []
    for points, slots in zip(instances, matched, strict=True):
        own: list[tuple[int, int, int]] = []
        placed = [(i, slot) for i, slot in enumerate(slots) if slot >= 0]
        for x, (i, a) in enumerate(placed):
            for j, b in placed[x + 1 :]:
                kept = _squared(points[i], modes[a]) / scale**2 + _squared(points[j], modes[b]) / scale**2
                crossed = _squared(points[i], modes[b]) / scale**2 + _squared(points[j], modes[a]) / scale**2
                with np.errstate(invalid="ignore"):
                    exchange = (crossed < PLAUSIBLE) & (kept > PLAUSIBLE) & (crossed < kept)
                own += [(i, j, int(keypoint)) for keypoint in np.flatnonzero(exchange)]
        found.append(tuple(own))
    return tuple(found)


def _attach_strays(matched: list[list[int]], instances: Sequence[FloatArray], centres: FloatArray, sigma: FloatArray, diagonal: float, pairs: IntArray) -> None:
    """Give each unmatched instance an animal its volunteer left free, however poorly it fits.

    A volunteer who clicks at random matches no animal; dropped, they would
    never be judged. Attached, their clicks are outliers of that animal's
    consensus (the model expects strays), and their reliability falls. A
    volunteer's spurious extra animal finds no free animal and stays out.
    """
    for slots, points in zip(matched, instances, strict=True):
        loose = [i for i, slot in enumerate(slots) if slot < 0]
        free = [a for a in range(len(centres)) if a not in slots]
        if not loose or not free:
            continue
        chosen = _assign(pair_oks(points[loose], centres[free], sigma, diagonal, pairs), -np.inf)
        for i, column in zip(loose, chosen.tolist(), strict=True):
            if column >= 0:
                slots[i] = free[column]
