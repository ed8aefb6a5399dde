from hub.api.app import create_app
from hub.settings import HubSettings
from tests.routes import api_routes, run_in_threads


def test_no_route_of_the_hub_runs_a_thread_per_request() -> None:
    app = create_app(HubSettings())
    paths = {route.path for route in api_routes(app.routes)}
    assert {"/v1/agencies", "/dashboard/dead-letters"} <= paths
    assert run_in_threads(app.routes) == set()
