"""The 0.1.0 plugin's own test module, as 0.1.0's guide (section 5) had it written.

``tests/test_deprecations.py`` runs it, as ``test_oldacme.py``, in a pytest process of
its own with the plugin registered as its entry point would register it.
"""

from runbridge.testing.conformance import AdapterConformance


class TestAcme(AdapterConformance):
    provider = "oldacme"
