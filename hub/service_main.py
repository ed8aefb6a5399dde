"""Running the hub: the API, the intake workers, or both in one process."""

from __future__ import annotations

import asyncio
import logging
from enum import StrEnum

import uvicorn

from hub.api.app import create_app
from hub.attachments.retention import run_sweeper
from hub.directory import repository
from hub.intake.consumers import IntakeWorker
from hub.intake.service import IntakeContext
from hub.models import AgencyState
from hub.operations.keeper import run_keeper
from hub.runtime import Runtime, intake_context
from hub.settings import HubSettings
from schemas.heap import settle_heap
from schemas.migration_child import upgrade_in_child

log = logging.getLogger(__name__)


class ServeRole(StrEnum):
    ALL = "all"
    API = "api"
    WORKER = "worker"


async def _mailboxes(runtime: Runtime) -> list[str]:
    async with runtime.sessions() as session:
        return [a.code for a in await repository.agencies(session) if a.state == AgencyState.ACTIVE]


async def run_worker(runtime: Runtime, context: IntakeContext) -> None:
    """Declare the topology (every active agency's mailbox too) and consume intake forever."""
    await runtime.broker.declare_topology(await _mailboxes(runtime))
    log.info("intake worker consuming %s", runtime.settings.intake_queue)
    await IntakeWorker(runtime.settings, runtime.sessions, runtime.broker, context).run()


def api_server(runtime: Runtime) -> uvicorn.Server:
    """The API, built (its routes, their models) and ready to serve."""
    settings = runtime.settings
    config = uvicorn.Config(
        create_app(settings, runtime), host=settings.api_host, port=settings.api_port,
        log_level="info", lifespan="on",
    )  # fmt: skip
    return uvicorn.Server(config)


async def serve(settings: HubSettings, role: ServeRole) -> None:
    """Migrate, connect, then run what the role asks for until stopped."""
    await upgrade_in_child("hub.migrate", settings.database_url)
    runtime = Runtime.create(settings)
    await runtime.broker.connect()
    try:
        tasks = []
        api = api_server(runtime) if role in (ServeRole.ALL, ServeRole.API) else None
        if role in (ServeRole.ALL, ServeRole.WORKER):
            # Keys and trust are read before anything is served: a bad one stops the process
            # with one line, not with the API already up and then torn down.
            context = intake_context(settings, runtime.store)
            tasks.append(asyncio.create_task(run_worker(runtime, context), name="intake"))
            tasks.append(asyncio.create_task(run_keeper(runtime), name="dead-letters"))
            tasks.append(asyncio.create_task(run_sweeper(runtime), name="attachments"))
        if api is not None:
            tasks.append(asyncio.create_task(api.serve(), name="api"))
        settle_heap()  # before the tasks first run: all that serving needs is built
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            task.result()  # an API that stopped ends the process; a crashed worker raises here
    finally:
        await runtime.close()
