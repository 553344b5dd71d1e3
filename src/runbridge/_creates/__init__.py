"""The creates wing: one create exactly once, settling a create whose outcome is unknown,
``resolve``, ``create_many`` and the journal's pending creates.
"""
