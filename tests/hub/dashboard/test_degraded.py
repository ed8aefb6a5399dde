"""The dashboard without RabbitMQ's management API: the pages still answer, and say why
their broker figures are missing; a missing quarantine entry is a 404, not a crash."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import httpx

from hub.api.app import create_app
from hub.models import AgencyLevel
from tests.hub.dashboard.browser import TOKENS
from tests.hub.hub_stack import hub_stack


async def test_pages_answer_while_the_management_api_is_away(tmp_path: Path) -> None:
    async with hub_stack(tmp_path, operator_tokens=TOKENS) as hub:
        await hub.register("000.00.29.H40", AgencyLevel.DISTRICT, certificate=False)
        # From here on the management API is away (nothing listens on the discard port).
        away = hub.settings.model_copy(update={"amqp_management_url": "http://127.0.0.1:9/"})
        app = create_app(away, replace(hub.runtime, settings=away))
        app.state.runtime = replace(hub.runtime, settings=away)  # ASGITransport runs no lifespan
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hub") as client:
            logged_in = await client.post("/dashboard/login", data={"token": "viewer-token"})
            assert logged_in.status_code == 303
            for path in ("/dashboard", "/dashboard/mailboxes"):
                page = await client.get(path)
                assert page.status_code == 200 and "RabbitMQ is not answering" in page.text
            agencies = await client.get("/dashboard/agencies")
            assert agencies.status_code == 200 and "000.00.29.H40" in agencies.text
            missing = await client.get("/dashboard/quarantine/424242")
            assert missing.status_code == 404 and "Traceback" not in missing.text
