"""`gatekeeper serve`: build the container and run every listener until SIGTERM/SIGINT (under `serve.workers`,
supervise that many worker processes doing so)."""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import logging
import os
import signal
import socket
import sys

from gatekeeper.cli.runtime import add_config_option, load_checked, optional_parts, run_async
from gatekeeper.config import Config
from gatekeeper.observe import configure_logging, held_logs
from gatekeeper.server.container import build
from gatekeeper.server.listeners import LISTENERS, build_listeners
from gatekeeper.server.run import serve
from gatekeeper.server.workers import Supervisor, WorkerHandles, worker_count

log = logging.getLogger("gatekeeper")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("serve", help="run every listener (proxy, public, admin, api, metrics)")
    add_config_option(command)
    command.add_argument("--dev", action="store_true", help="development mode: generated secrets, insecure cookies")
    command.add_argument("--migrate", action="store_true", help="apply pending migrations before serving")
    command.add_argument("--watch-courier", action="store_true",
                         help="Kratos' flag, accepted: the courier always runs inside serve here "
                              "(`gatekeeper courier watch` runs it alone)")
    command.add_argument("part", nargs="?", choices=("all", "proxy", "api"), metavar="[proxy|api|all]",
                         help="Oathkeeper's older `serve proxy` / `serve api` spellings, accepted: every listener runs")
    for flag in ("--disable-telemetry", "--sqa-opt-out"):
        command.add_argument(flag, action="store_true", help="Ory's telemetry switch, accepted: gatekeeper sends none")
    command.add_argument("--worker-fds", help=argparse.SUPPRESS)  # set by the supervisor for its workers
    command.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    with held_logs():  # what loading the config logs (generated --dev secrets) comes out in the configured format
        config = load_checked(args.config, dev=args.dev)
        configure_logging(config.log)
        if not args.worker_fds:  # the supervisor has said it already
            for notice in config.notices:
                log.warning("config key accepted without effect: %s", notice)
    if args.worker_fds:
        return run_async(_serve_async(config, apply_migrations=args.migrate,
                                      worker=WorkerHandles.parse(args.worker_fds)))
    workers = worker_count(config.serve.workers)
    if workers > 1:
        return _supervise(args, config, workers)
    return run_async(_serve_async(config, apply_migrations=args.migrate))


def _supervise(args: argparse.Namespace, config: Config, workers: int) -> int:
    flags = [*(arg for path in args.config or () for arg in ("--config", path)), *(["--dev"] if args.dev else []),
             *(["--migrate"] if args.migrate else [])]  # every worker may migrate: the store serialises migrations
    env = dict(os.environ)
    if config.dev:  # secrets --dev generated here: every worker must sign and read cookies alike
        env["SECRETS_COOKIE"] = json.dumps([s.value for s in config.cookie_secrets])
        env["SECRETS_CIPHER"] = json.dumps([s.value for s in config.cipher_secrets])
    addresses = {name: (getattr(config.serve, name).host, getattr(config.serve, name).port) for name in LISTENERS}
    return Supervisor(lambda handles: [sys.executable, "-m", "gatekeeper.cli", "serve", *flags,
                                       "--worker-fds", handles.format()],
                      workers, addresses, env=env, shutdown_timeout=float(config.serve.shutdown_timeout),
                      on_ready=lambda urls: _announce(config, urls)).run()


def _exit_stuck(grace: float) -> None:
    log.error("a worker without its supervisor did not stop in time: exiting", extra={"waited_s": grace})
    os._exit(1)


def _announce(config: Config, urls: dict[str, str]) -> None:
    prefix = config.serve.proxy.identity_prefix
    app = config.serve.proxy.base_url.rstrip("/") or urls["proxy"]  # the URL browsers should use (passkeys: a name)
    lines = [f"  {name:<8} {url}" for name, url in urls.items()]
    print("gatekeeper is listening:\n" + "\n".join(lines)
          + f"\n  open {app}/ (app) and {app}{prefix}/ui/login (sign in)", flush=True)


async def _serve_async(config: Config, *, apply_migrations: bool, worker: WorkerHandles | None = None) -> int:
    """Build and serve; once built, the start-up heap (modules, config, routes, schemas) is moved out of the
    garbage collector's sight with `gc.freeze()`: it is never garbage, and its size made every full collection
    a pause of tens of milliseconds for each request in flight."""
    # Catch SIGTERM/SIGINT from the start: a signal that lands while the container is being built must stop it
    # too (the runner's own SIGINT handling cancels the main task, which start-up code may swallow).
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    if worker is None:
        container = await build(config, optional_parts(config))
        listeners = build_listeners(container)
        gc.freeze()
        return await serve(container, listeners, apply_migrations=apply_migrations,
                           on_ready=lambda urls: _announce(config, urls), stop=stop)
    grace = float(config.serve.shutdown_timeout) + 5.0

    def supervisor_gone() -> None:  # its pipe reads end of file: nobody will stop (or kill) this worker now
        loop.remove_reader(worker.supervisor)
        log.warning("the supervisor is gone: stopping this worker", extra={"pid": os.getpid()})
        stop.set()
        loop.call_later(grace, _exit_stuck, grace)

    loop.add_reader(worker.supervisor, supervisor_gone)

    def listening(urls: dict[str, str]) -> None:
        os.write(worker.ready, b"1")
        os.close(worker.ready)

    sockets = {name: socket.socket(fileno=fd) for name, fd in worker.listeners.items()}
    container = await build(config, optional_parts(config))
    listeners = build_listeners(container)
    gc.freeze()
    return await serve(container, listeners, apply_migrations=apply_migrations, sockets=sockets,
                       on_ready=listening, stop=stop)
