"""Test support: serve a provider's emulator on loopback and connect a client to it.

``emulated_client`` (async) and ``emulated_sync_client`` (sync), ``emulated_fanout``
(one fan-out over an emulator per provider), ``emulated_events`` (an emulator
delivering run events to a receiver) and ``load_emulator`` work with any test
runner. The pytest fixtures (``runbridge_client``, ``runbridge_sync_client``,
``runbridge_emulator``, ``runbridge_events``) are in
``runbridge.testing.fixtures``, registered as the ``runbridge`` pytest plugin;
``runbridge.testing.conformance`` holds the reusable conformance suite for
adapter authors. ``HostedEmulator`` serves an emulator from a process of its own,
for clients in other processes (Dask workers, drivers that a test kills).
"""

from __future__ import annotations

from ._emulated import emulated_client, emulated_providers, load_emulator, testing_options
from ._events import EmulatedEvents, emulated_events
from ._fanout import emulated_fanout
from ._hosted import HostedEmulator, HostedState
from ._raw import RawClient, RawResponse, raw_client
from ._sync import emulated_sync_client

__all__ = [
    "EmulatedEvents",
    "HostedEmulator",
    "HostedState",
    "RawClient",
    "RawResponse",
    "emulated_client",
    "emulated_events",
    "emulated_fanout",
    "emulated_providers",
    "emulated_sync_client",
    "load_emulator",
    "raw_client",
    "testing_options",
]
