import inspect
from types import SimpleNamespace

from agency_adapter.api.app import create_app
from agency_adapter.workers import Workers
from tests.routes import api_routes, run_in_threads


def test_no_route_of_the_adapter_runs_a_thread_per_request() -> None:
    # Only the app's title reads the runtime while the routes are declared.
    runtime = SimpleNamespace(ctx=SimpleNamespace(settings=SimpleNamespace(agency_code="X")))
    app = create_app(runtime, run_workers=False)  # type: ignore[arg-type]
    assert "/v1/documents" in {route.path for route in api_routes(app.routes)}
    assert run_in_threads(app.routes) == set()


def test_waking_the_relay_after_a_request_runs_on_the_loop() -> None:
    """A background task that is a plain function runs in a worker thread, and the relay's
    asyncio.Event may only be set from the loop."""
    assert inspect.iscoroutinefunction(Workers.nudge)
