"""`gatekeeper serve`: build the container and run every listener until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

from gatekeeper.cli.runtime import load_checked, run_async
from gatekeeper.config import Config
from gatekeeper.observe import configure_logging, held_logs
from gatekeeper.server.container import build
from gatekeeper.server.listeners import build_listeners
from gatekeeper.server.run import serve


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    command = commands.add_parser("serve", help="run every listener (proxy, public, admin, api, metrics)")
    command.add_argument("--config", "-c", default=os.environ.get("GATEKEEPER_CONFIG"), help="YAML config file")
    command.add_argument("--dev", action="store_true", help="development mode: generated secrets, insecure cookies")
    command.add_argument("--migrate", action="store_true", help="apply pending migrations before serving")
    command.set_defaults(run=_serve)


def _serve(args: argparse.Namespace) -> int:
    with held_logs():  # what loading the config logs (generated --dev secrets) comes out in the configured format
        config = load_checked(args.config, dev=args.dev)
        configure_logging(config.log)
    return run_async(_serve_async(config, apply_migrations=args.migrate))


async def _serve_async(config: Config, *, apply_migrations: bool) -> int:
    # Catch SIGTERM/SIGINT from the start: a signal that lands while the container is being built must stop it
    # too (the runner's own SIGINT handling cancels the main task, which start-up code may swallow).
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    container = await build(config)

    def announce(urls: dict[str, str]) -> None:
        prefix = config.serve.proxy.identity_prefix
        lines = [f"  {name:<8} {url}" for name, url in urls.items()]
        print("gatekeeper is listening:\n" + "\n".join(lines)
              + f"\n  open {urls['proxy']}/ (app) and {urls['proxy']}{prefix}/ui/login (sign in)", flush=True)

    return await serve(container, build_listeners(container), apply_migrations=apply_migrations, on_ready=announce,
                       stop=stop)
