"""The wire wing: one HTTP attempt, the retry loop, calls an adapter sends requests
through, error translation, redaction, limits, observers, cursors and the bulk engine.
"""
