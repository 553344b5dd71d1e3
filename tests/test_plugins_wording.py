"""Messages about plugins' declarations read as sentences: no word twice in a row."""

from __future__ import annotations

import re

import pytest

import runbridge
from runbridge import InvalidRequest

DOUBLED = re.compile(r"\b(\w+) \1\b", re.IGNORECASE)

# The id formats' names differ in shape ("uuid", "kognitos id", "memo id"): the message
# that names one must read well with each. (Only the providers these tests ship: another
# installed plugin's adapter may need settings to connect.)
PROVIDERS = [p.name for p in runbridge.providers() if p.builtin or p.plugin == "memo-tests"]


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_a_bad_run_id_is_named_once(provider: str) -> None:
    async with runbridge.connect(provider, token="t", base_url="http://127.0.0.1:9") as client:
        with pytest.raises(InvalidRequest) as caught:
            await client.get(f"{provider}:../x")
    message = str(caught.value)
    assert caught.value.field == "id"
    assert "run id '../x' does not match the " in message
    assert not DOUBLED.search(message), message
