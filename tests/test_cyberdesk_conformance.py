"""The conformance kit, run against the Cyberdesk adapter and its emulator."""

from runbridge.testing.conformance import AdapterConformance


class TestCyberdeskConformance(AdapterConformance):
    provider = "cyberdesk"
