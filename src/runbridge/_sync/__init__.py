"""The sync wing: the synchronous API, each call handed to an event loop on a thread."""
