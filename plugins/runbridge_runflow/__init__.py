"""Built-in runbridge adapter for Runflow (registered through the ``runbridge.adapters`` entry point)."""
