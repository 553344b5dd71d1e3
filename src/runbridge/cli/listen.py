"""``runbridge listen``: receive a provider's run events and print the verified ones."""

from __future__ import annotations

import argparse
import asyncio

from runbridge import EventReceiver, RunClient, RunEvent

from .emulate import _stop_on_signals
from .exits import OK
from .records import iso, run_to_dict
from .render import Output, status_text


def event_to_dict(event: RunEvent) -> dict[str, object]:
    """A verified event as one JSON object."""
    return {
        "provider": event.provider,
        "event_id": event.id,
        "type": event.type,
        "occurred_at": iso(event.occurred_at),
        "run": run_to_dict(event.run),
    }


async def listen(client: RunClient, args: argparse.Namespace, output: Output) -> int:
    """Serve ``POST /<provider>`` until SIGINT or SIGTERM, printing each verified event."""
    receiver = EventReceiver(client, tolerance=args.tolerance)

    def show(event: RunEvent) -> None:
        if output.json:
            output.line(event_to_dict(event))
            return
        line = status_text(event.run)
        line.append(f"  {event.run.ref}  {event.type}  {event.id}", style="")
        output.out.print(line)
        output.out.file.flush()

    receiver.on_event(show)
    stop = asyncio.Event()
    with _stop_on_signals(stop):
        async with receiver.serve(args.host, args.port) as url:
            endpoint = f"{url}{client.provider}"
            if output.json:
                output.line({"listening": endpoint})
            output.note(f"Receiving {client.provider} run events at {endpoint}. Stop with Ctrl+C.")
            await stop.wait()
    return OK
