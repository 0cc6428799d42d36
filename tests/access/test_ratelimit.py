"""The limits' decisions over values: client keys, token buckets, the hourly ceiling."""

from __future__ import annotations

import pytest

from receiver.access.ratelimit import HOUR, Bucket, ceiling_wait, client_key, take
from receiver.settings import RateLimit, Settings

DEFAULTS = Settings()


class TestClientKey:
    def test_ipv6_addresses_of_one_64_are_one_client(self) -> None:
        """Two addresses differing only in their last 64 bits share a key."""
        assert client_key("2001:db8:1:2::1", DEFAULTS) == client_key("2001:db8:1:2:ffff:ffff:ffff:ffff", DEFAULTS) == "2001:db8:1:2::/64"

    def test_neighbouring_64s_are_different_clients(self) -> None:
        """2001:db8:1:2::/64 and 2001:db8:1:3::/64 are two clients."""
        assert client_key("2001:db8:1:2::1", DEFAULTS) != client_key("2001:db8:1:3::1", DEFAULTS)

    def test_ipv4_address_is_its_own_client(self) -> None:
        """With the default /32, each IPv4 address is one client."""
        assert client_key("203.0.113.7", DEFAULTS) == "203.0.113.7/32"
        assert client_key("203.0.113.8", DEFAULTS) == "203.0.113.8/32"

    def test_ipv4_mapped_ipv6_counts_as_ipv4(self) -> None:
        """::ffff:203.0.113.7 is the IPv4 client 203.0.113.7, not part of ::ffff:0:0/64."""
        assert client_key("::ffff:203.0.113.7", DEFAULTS) == "203.0.113.7/32"

    def test_prefixes_are_settings(self) -> None:
        """A /48 for IPv6 and a /24 for IPv4 widen the client."""
        wide = Settings(rate_limit_ipv6_prefix=48, rate_limit_ipv4_prefix=24)
        assert client_key("2001:db8:1:2::1", wide) == "2001:db8:1::/48"
        assert client_key("203.0.113.7", wide) == "203.0.113.0/24"

    def test_zone_does_not_split_a_client(self) -> None:
        """A link-local address with a zone keys as its network."""
        assert client_key("fe80::1%eth0", DEFAULTS) == "fe80::/64"

    @pytest.mark.parametrize("name", ["unknown", "testclient"])
    def test_a_name_that_is_no_address_is_its_own_key(self, name: str) -> None:
        """No peer address known: the name stands for the client."""
        assert client_key(name, DEFAULTS) == name


class TestTake:
    LIMIT = RateLimit(3, 60.0)

    def test_new_client_starts_full(self) -> None:
        """A client never seen has `count` requests, the last one leaving an empty bucket."""
        bucket: Bucket | None = None
        waits = []
        for _ in range(3):
            bucket, wait = take(bucket, 0.0, self.LIMIT)
            waits.append(wait)
        assert waits == [None, None, None] and bucket == Bucket(0.0, 0.0)

    def test_empty_bucket_says_when_a_token_returns(self) -> None:
        """At 3/minute a token returns every 20 s; half-way the wait is 10 s."""
        _, wait = take(Bucket(0.5, 0.0), 0.0, self.LIMIT)
        assert wait == pytest.approx(10.0)

    def test_refill_is_capped_at_count(self) -> None:
        """An hour idle gives back `count` tokens, no more."""
        bucket, wait = take(Bucket(0.0, 0.0), HOUR, self.LIMIT)
        assert wait is None and bucket.tokens == pytest.approx(2.0)

    def test_clock_going_back_refills_nothing(self) -> None:
        """A reading earlier than the last one (a restarted clock) adds no tokens and restarts the refill from now."""
        bucket, wait = take(Bucket(0.0, 5000.0), 10.0, self.LIMIT)
        assert bucket == Bucket(0.0, 10.0) and wait == pytest.approx(20.0)


class TestCeilingWait:
    def test_below_the_ceiling_passes(self) -> None:
        """99 admitted in the hour under a ceiling of 100: one more fits."""
        assert ceiling_wait(99, None, 1000.0, 100) is None

    def test_at_the_ceiling_waits_for_the_oldest_to_leave_the_hour(self) -> None:
        """Admitted at t=100 and full at t=1000: a slot frees at t=3700."""
        assert ceiling_wait(100, 100.0, 1000.0, 100) == pytest.approx(2700.0)
