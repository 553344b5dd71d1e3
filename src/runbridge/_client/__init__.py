"""The client wing: ``RunClient`` and ``connect``, argument checks, profiles, listing,
waiting, run events received, and fan-out over several clients.
"""
