"""Only one receiver process delivers: the holder of the delivery lease."""

from __future__ import annotations

from pathlib import Path

from receiver.delivery import DeliveryLease


def test_second_holder_is_refused_while_the_first_holds(tmp_path: Path) -> None:
    first, second = DeliveryLease(tmp_path / "lock"), DeliveryLease(tmp_path / "lock")
    assert first.try_acquire()
    assert not second.try_acquire()
    assert first.held and not second.held


def test_lease_passes_on_when_its_holder_lets_go(tmp_path: Path) -> None:
    first, second = DeliveryLease(tmp_path / "lock"), DeliveryLease(tmp_path / "lock")
    first.try_acquire()
    first.release()
    assert second.try_acquire()
