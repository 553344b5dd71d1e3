"""The conformance kit, run against the memo test adapter over loopback HTTP."""

from runbridge.testing.conformance import AdapterConformance


class TestMemoConformance(AdapterConformance):
    provider = "memo"
