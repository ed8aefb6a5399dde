"""`lienthong dev up|down` and `lienthong demo`: a local stack for trying lienthong.

The stack is a hub and four adapters (a province, one of its districts and two of that
district's communes) as separate processes on the local PostgreSQL and RabbitMQ, set up only
through the `lienthong` commands an operator would use. It never imports the services.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import typer

VAR = Path("var/dev")
STACK_FILE = Path("var/dev-stack.json")
DATABASE = "lienthong_dev"
VHOST = "lienthong-dev"
HUB_PORT = 8400
ADAPTER_PORTS = range(8501, 8505)  # one per agency below, in order
AGENCIES = [  # code, name, level, parent
    ("000.00.00.H40", "UBND tỉnh Nam Định", "province", ""),
    ("000.00.29.H40", "UBND huyện Hải Hậu", "district", "000.00.00.H40"),
    ("000.04.29.H40", "UBND xã Hải Anh", "commune", "000.00.29.H40"),
    ("000.05.29.H40", "UBND xã Hải Bắc", "commune", "000.00.29.H40"),
]
LIENTHONG = str(Path(sys.executable).parent / "lienthong")
dev_app = typer.Typer(help="A local stack: a hub and four adapters.", no_args_is_help=True)


def _hub_env(token: str) -> dict[str, str]:
    pki = VAR / "pki"
    return os.environ | {
        "LIENTHONG_DATABASE_URL": f"postgresql+asyncpg://postgres@127.0.0.1:5432/{DATABASE}",
        "LIENTHONG_AMQP_URL": f"amqp://guest:guest@127.0.0.1:5672/{VHOST}",
        "LIENTHONG_BROKER_USER_PREFIX": "dev.",
        "LIENTHONG_HUB_KEY": str(pki / "hub.key.pem"),
        "LIENTHONG_HUB_CERTIFICATE": str(pki / "hub.cert.pem"),
        "LIENTHONG_TRUST_BUNDLE": str(pki / "ca.cert.pem"),
        "LIENTHONG_OPERATOR_TOKENS": json.dumps({token: "admin"}),
        "LIENTHONG_API_PORT": str(HUB_PORT),
        "LIENTHONG_ATTACHMENT_DIR": str(VAR / "hub" / "attachments"),
    }


def _run(args: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        typer.echo(
            f"lienthong dev: {' '.join(args[:3])}... failed:\n{done.stderr.strip()}", err=True
        )
        raise typer.Exit(1)
    return done.stdout


def _fresh_services() -> None:
    _run(["psql", "-q", "-h", "127.0.0.1", "-U", "postgres", "-c",
          f"DROP DATABASE IF EXISTS {DATABASE} WITH (FORCE)"])  # fmt: skip
    subprocess.run(["rabbitmqctl", "-q", "delete_vhost", VHOST], capture_output=True, check=False)
    _run(["rabbitmqctl", "-q", "add_vhost", VHOST])
    _run(["rabbitmqctl", "-q", "set_permissions", "-p", VHOST, "guest", ".*", ".*", ".*"])


def _register(env: dict[str, str]) -> dict[str, str]:
    """Agencies, their keys and certificates; returns each agency's broker password."""
    directory = VAR / "agencies.csv"
    lines = ["code,name,level,parent_code", *(",".join(a) for a in AGENCIES)]
    directory.write_text("\n".join(lines) + "\n", encoding="utf-8")
    _run([LIENTHONG, "db", "upgrade"], env)
    credentials = VAR / "credentials.csv"
    _run([LIENTHONG, "agency", "import", str(directory), "--credentials", str(credentials)], env)
    passwords = {
        row.split(",")[0]: row.split(",")[2] for row in credentials.read_text().splitlines()[1:]
    }
    for code, name, _, _ in AGENCIES:
        home = VAR / code
        _run([LIENTHONG, "keys", "agency", code, "--ca-dir", str(VAR / "pki"), "--out", str(home),
              "--name", name, "--algorithm", "ec"])  # fmt: skip
        _run([LIENTHONG, "agency", "cert", "add", code, str(home / f"{code}.cert.pem")], env)
    return passwords


def _start(args: list[str], env: dict[str, str], log: Path) -> int:
    with log.open("ab") as out:
        process = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT,
                                   start_new_session=True)  # fmt: skip
    return process.pid


def _adapter_env(
    code: str, name: str, password: str, port: int, key: str, token: str
) -> dict[str, str]:
    home = VAR / code
    return os.environ | {
        "LIENTHONG_ADAPTER_AGENCY_CODE": code,
        "LIENTHONG_ADAPTER_AGENCY_NAME": name,
        "LIENTHONG_ADAPTER_KEY": str(home / f"{code}.key.pem"),
        "LIENTHONG_ADAPTER_CERTIFICATE": str(home / f"{code}.cert.pem"),
        "LIENTHONG_ADAPTER_AMQP_URL": f"amqp://dev.{code}:{password}@127.0.0.1:5672/{VHOST}",
        "LIENTHONG_ADAPTER_HUB_URL": f"http://127.0.0.1:{HUB_PORT}",
        "LIENTHONG_ADAPTER_HUB_TOKEN": token,
        "LIENTHONG_ADAPTER_TRUST_BUNDLE": str(home / "trust.pem"),
        "LIENTHONG_ADAPTER_DATABASE_URL": f"sqlite+aiosqlite:///{home}/adapter.db",
        "LIENTHONG_ADAPTER_API_KEYS": json.dumps({key: f"{name} (local system)"}),
        "LIENTHONG_ADAPTER_PORT": str(port),
        "LIENTHONG_ADAPTER_ATTACHMENT_DIR": str(home / "attachments"),
    }


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the servers bind
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return True
    return False


def _ports_free(seconds: float = 10) -> None:
    """Exit, before anything is dropped or started, if the stack's ports are taken: servers
    of another stack (from another folder, say) would answer in place of this one's, with
    other keys, and its database would be dropped under it. A stack just stopped is given a
    moment to let go of them."""
    deadline = time.monotonic() + seconds
    while taken := [p for p in (HUB_PORT, *ADAPTER_PORTS) if _port_taken(p)]:
        if time.monotonic() >= deadline:
            typer.echo(
                f"lienthong dev: port {taken[0]} on 127.0.0.1 is in use, so the stack cannot "
                "start: stop what listens there (another lienthong stack? `lienthong dev down` "
                "in the folder it was started from)",
                err=True,
            )
            raise typer.Exit(1)
        time.sleep(0.2)


def _wait_healthy(url: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    typer.echo(f"lienthong dev: {url} did not come up; see the logs in {VAR}/", err=True)
    raise typer.Exit(1)


@dev_app.command("up")
def up() -> None:
    """Start a hub and adapters (province, district, two communes); write var/dev-stack.json."""
    down(quiet=True)
    _ports_free()
    shutil.rmtree(VAR, ignore_errors=True)  # a stack starts fresh: keys, stores, logs
    VAR.mkdir(parents=True)
    token = secrets.token_urlsafe(16)
    env = _hub_env(token)
    _fresh_services()
    _run([LIENTHONG, "hub", "init-pki", "--dir", str(VAR / "pki")])
    passwords = _register(env)
    pids = [_start([LIENTHONG, "hub", "serve"], env, VAR / "hub.log")]
    hub_url = f"http://127.0.0.1:{HUB_PORT}"
    _wait_healthy(hub_url)
    adapters = []
    for index, (code, name, level, _) in enumerate(AGENCIES):
        port, key = ADAPTER_PORTS[index], secrets.token_urlsafe(16)
        adapter_env = _adapter_env(code, name, passwords[code], port, key, token)
        pids.append(
            _start([LIENTHONG, "adapter", "serve"], adapter_env, VAR / f"adapter-{code}.log")
        )
        adapters.append({"agency": code, "name": name, "level": level,
                         "url": f"http://127.0.0.1:{port}", "api_key": key})  # fmt: skip
    (VAR / "pids").write_text("\n".join(map(str, pids)))
    for adapter in adapters:
        _wait_healthy(str(adapter["url"]))
    stack = {"hub": {"url": hub_url, "operator_token": token}, "adapters": adapters}
    STACK_FILE.write_text(json.dumps(stack, ensure_ascii=False, indent=2), encoding="utf-8")
    typer.echo(f"stack up: hub {hub_url}, {len(adapters)} adapters; details in {STACK_FILE}")
    typer.echo(f"operators' dashboard: {hub_url}/dashboard (operator token: {token})")


@dev_app.command("down")
def down(quiet: bool = False) -> None:
    """Stop the stack's processes."""
    pid_file = VAR / "pids"
    if not pid_file.exists():
        if not quiet:
            typer.echo("no stack is running")
        return
    for pid in map(int, pid_file.read_text().split()):
        try:
            os.killpg(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
    pid_file.unlink()
    STACK_FILE.unlink(missing_ok=True)  # `lienthong demo` then starts a stack of its own
    if not quiet:
        typer.echo("stack stopped")


def register(app: typer.Typer) -> None:
    app.add_typer(dev_app, name="dev")
