"""Built-in runbridge adapter for Kognitos (registered through the ``runbridge.adapters`` entry point)."""
