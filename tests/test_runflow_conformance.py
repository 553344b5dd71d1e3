"""The conformance kit, run against the Runflow adapter and its emulator."""

from runbridge.testing.conformance import AdapterConformance


class TestRunflowConformance(AdapterConformance):
    provider = "runflow"
