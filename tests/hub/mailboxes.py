"""Making a mailbox refuse publishes for a while, as a full or broken queue would."""

from __future__ import annotations

import asyncio
import subprocess

import aio_pika

from tests.hub.hub_stack import HubStack


async def set_policy(vhost: str, queue: str, definition: str | None) -> None:
    """Set (or, with None, clear) a policy on one queue; clearing twice is harmless."""
    base = ["rabbitmqctl", "-q", "-p", vhost]
    if definition is None:
        command = [*base, "clear_policy", "full"]
    else:
        command = [*base, "set_policy", "full", f"^{queue}$", definition, "--apply-to", "queues"]
    await asyncio.to_thread(
        subprocess.run, command, check=definition is not None, capture_output=True, timeout=60
    )


async def fill(hub: HubStack, queue: str) -> None:
    connection = await aio_pika.connect(hub.settings.amqp_url)
    async with connection:
        channel = await connection.channel(publisher_confirms=True)
        await channel.default_exchange.publish(aio_pika.Message(b"x", message_id="filler"), queue)


async def refusing(hub: HubStack, code: str) -> str:
    """Make an agency's mailbox refuse every publish; returns the policy's queue pattern."""
    pattern = hub.settings.mailbox_queue(code).replace(".", "\\.")
    await fill(hub, hub.settings.mailbox_queue(code))  # quorum queues check the limit late
    await set_policy(hub.settings.vhost, pattern, '{"max-length": 0}')
    return pattern
