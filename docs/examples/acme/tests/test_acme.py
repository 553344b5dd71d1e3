"""The Acme plugin against runbridge's conformance kit, and what only Acme does."""

from __future__ import annotations

import pytest

from runbridge import RateLimited
from runbridge.testing import emulated_client
from runbridge.testing.conformance import AdapterConformance


class TestAcmeConformance(AdapterConformance):
    """Every check of the kit that Acme's capabilities call for."""

    provider = "acme"


async def test_a_spent_quota_is_rate_limited_not_an_auth_error() -> None:
    async with emulated_client("acme") as (client, emulator):
        emulator.inject(403, body={"fault": {"code": "quota_exceeded", "reason": "no credit"}})
        with pytest.raises(RateLimited) as caught:
            await client.get(emulator.unknown_id())
    assert caught.value.code == "quota_exceeded"
    assert "no credit" in str(caught.value)
