"""Built-in runbridge adapter for Cyberdesk (registered through the ``runbridge.adapters`` entry point)."""
