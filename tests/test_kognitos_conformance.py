"""The conformance kit against the Kognitos adapter and its emulator over loopback HTTP."""

from runbridge.testing.conformance import AdapterConformance


class TestKognitosConformance(AdapterConformance):
    provider = "kognitos"
