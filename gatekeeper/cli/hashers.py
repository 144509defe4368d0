"""`gatekeeper hashers argon2 calibrate|hash|load-test`: Kratos' commands for tuning `hashers.argon2`, with its
flags; values not given as flags come from the config (`-c`), else Kratos' defaults."""

from __future__ import annotations

import argparse
import concurrent.futures
import dataclasses
import os
import sys
import time
from typing import Any

from argon2.exceptions import HashingError

from gatekeeper.cli.argon2_bench import (
    Argon2Params,
    LoadResult,
    LoadTestFailed,
    calibrate,
    duration,
    load_test,
)
from gatekeeper.cli.output import Row, Table, add_format_flags, print_row, print_table
from gatekeeper.cli.runtime import add_config_option
from gatekeeper.config import load_config
from gatekeeper.config.types import Duration
from gatekeeper.identity.passwords import byte_size

CONFIG_HEADER = ("MEMORY", "ITERATIONS", "PARALLELISM", "SALT LENGTH", "KEY LENGTH", "EXPECTED DURATION",
                 "EXPECTED DEVIATION", "DEDICATED MEMORY")
RESULT_HEADER = ("TOTAL SAMPLE TIME", "MEDIAN REQUEST TIME", "STANDARD DEVIATION", "MIN REQUEST TIME",
                 "MAX REQUEST TIME", "MEMORY USED")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `hashers argon2 calibrate|hash|load-test`."""
    hashers = commands.add_parser("hashers", help="helpers around password hashing")
    argon2 = hashers.add_subparsers(metavar="ALGORITHM", required=True).add_parser("argon2", help="argon2id")
    actions = argon2.add_subparsers(metavar="ACTION", required=True)

    cal = actions.add_parser("calibrate", help="compute argon2 parameters for N logins per minute on this machine")
    cal.add_argument("per_minute", type=_positive, metavar="requests-per-minute")
    cal.add_argument("--probe-runs", "-r", type=_positive, default=2, help="runs per probe; their mean is taken")
    cal.add_argument("--start-memory", "-m", type=_size, default=128 * 1024 * 1024, help="memory to start at")
    cal.add_argument("--max-memory", type=_size, default=0, help="the most memory to try (0: no limit)")
    cal.add_argument("--adjust-memory-by", type=_size, default=512 * 1024 * 1024, help="memory step while probing")
    cal.add_argument("--start-iterations", "-i", type=_positive, default=1, help="iterations to start at")
    cal.add_argument("--sample-time", type=_duration, default=20.0,
                     help="how long each load test runs (gatekeeper's; Kratos always takes 20s)")
    _params_flags(cal, starts=False)
    cal.set_defaults(run=_calibrate)

    hash_cmd = actions.add_parser("hash", help="hash passwords and print how long each took (for benchmarking)")
    hash_cmd.add_argument("passwords", nargs="+")
    hash_cmd.add_argument("--parallel", action="store_true", help="hash them all at once")
    _params_flags(hash_cmd, starts=True, formats=False)
    hash_cmd.set_defaults(run=_hash)

    load = actions.add_parser("load-test", help="simulate N logins per minute and report the hashing times")
    load.add_argument("per_minute", type=_positive, metavar="requests-per-minute")
    load.add_argument("--sample-time", type=_duration, default=20.0, help="how long the test runs (Kratos: 20s)")
    _params_flags(load, starts=True)
    load.set_defaults(run=_load_test)


def _params_flags(parser: argparse.ArgumentParser, *, starts: bool, formats: bool = True) -> None:
    """The `hashers.argon2` values as flags (None: from the config), `-c` and the output flags."""
    if starts:
        parser.add_argument("--iterations", type=_positive, help="argon2 iterations (time cost)")
        parser.add_argument("--memory", type=_size, help="argon2 memory, e.g. 64MB")
    parser.add_argument("--parallelism", type=_positive, help="argon2 lanes (default: 2 x CPUs)")
    parser.add_argument("--salt-length", type=_positive, help="salt length in bytes")
    parser.add_argument("--key-length", type=_positive, help="key (hash) length in bytes")
    parser.add_argument("--min-duration", type=_duration, help="the least a hash (~ a login) should take")
    parser.add_argument("--expected-deviation", type=_duration, help="how much longer a hash may take")
    parser.add_argument("--dedicated-memory", type=_size, help="memory set aside for hashing")
    parser.add_argument("--max-concurrent", type=_positive,
                        help="hashes at once, as hashers.threads bounds them (default: that, else CPUs - 1)")
    add_config_option(parser, "config file whose hashers section to start from")
    if formats:
        add_format_flags(parser)


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of at least 1, got {text!r}")
    return int(text)


def _size(text: str) -> int:
    try:
        return byte_size(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _duration(text: str) -> float:
    try:
        return float(Duration.parse(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def params_of(args: argparse.Namespace) -> Argon2Params:
    """The config's `hashers.argon2` (defaults without -c), with the flags given on top."""
    config = load_config(args.config, secrets_needed=False).hashers
    a = config.argon2
    base = Argon2Params(memory=byte_size(a.memory), iterations=a.iterations,
                        parallelism=a.parallelism or 2 * (os.cpu_count() or 1), salt_length=a.salt_length,
                        key_length=a.key_length, expected_duration=float(a.expected_duration),
                        expected_deviation=float(a.expected_deviation), dedicated_memory=byte_size(a.dedicated_memory),
                        threads=config.threads or max(1, (os.cpu_count() or 2) - 1))
    flags = {"memory": getattr(args, "memory", None) or getattr(args, "start_memory", None),
             "iterations": getattr(args, "iterations", None) or getattr(args, "start_iterations", None),
             "parallelism": args.parallelism, "salt_length": args.salt_length, "key_length": args.key_length,
             "expected_duration": args.min_duration, "expected_deviation": args.expected_deviation,
             "dedicated_memory": args.dedicated_memory, "threads": args.max_concurrent}
    return dataclasses.replace(base, **{k: v for k, v in flags.items() if v is not None})


def config_row(params: Argon2Params) -> Row:
    values = params.as_config()
    return Row(CONFIG_HEADER, [str(v) for v in values.values()], values)


def result_row(result: LoadResult) -> Row:
    values = result.as_json()
    return Row(RESULT_HEADER, list(values.values()), values)


def _say(args: argparse.Namespace) -> Any:
    """Progress on stderr, unless --quiet."""
    return (lambda _: None) if args.quiet else (lambda text: print(text, file=sys.stderr, flush=True))


def _calibrate(args: argparse.Namespace) -> int:
    """Progress and each load test's result go to stderr, so stdout holds only the recommendation."""
    say = _say(args)

    def show(result: LoadResult) -> None:
        if not args.quiet:
            print_row(args, result_row(result), sys.stderr)

    try:
        outcome = calibrate(params_of(args), per_minute=args.per_minute, runs=args.probe_runs,
                            max_memory=args.max_memory, adjust_memory=args.adjust_memory_by,
                            sample_time=args.sample_time, say=say, settled=say, show=show)
    except (LoadTestFailed, HashingError) as exc:
        print(exc, file=sys.stderr)
        return 1
    if outcome.params is not None:
        print_row(args, config_row(outcome.params))
        return 0
    print("Could not automatically determine good parameters. Have a look at all the measurements taken and select "
          "acceptable values yourself.", file=sys.stderr)
    rows = [[*result_row(r).columns, str(p.memory), str(p.iterations)] for r, p in outcome.attempts]
    print_table(args, Table((*RESULT_HEADER, "MEMORY PARAM", "ITERATIONS PARAM"), rows,
                            [{**r.as_json(), **p.as_config()} for r, p in outcome.attempts], [r[0] for r in rows]))
    return 0


def _load_test(args: argparse.Namespace) -> int:
    params = params_of(args)
    if not args.quiet:
        print("The hashing configuration used is:", file=sys.stderr)
        print_row(args, config_row(params))
    try:
        result = load_test(params, args.per_minute, args.sample_time, _say(args))
    except (LoadTestFailed, HashingError) as exc:
        print(exc, file=sys.stderr)
        return 1
    print_row(args, result_row(result))
    return 0


def _hash(args: argparse.Namespace) -> int:
    """Kratos prints only how long each hash took (one after the other, or all at once with --parallel)."""
    hasher = params_of(args).hasher()

    def timed(item: tuple[int, str]) -> str:
        began = time.perf_counter()
        hasher.hash(item[1])
        return f"password {item[0]}: {duration(time.perf_counter() - began)}"

    start = time.perf_counter()
    try:
        if args.parallel:
            with concurrent.futures.ThreadPoolExecutor(len(args.passwords)) as pool:
                lines = list(pool.map(timed, enumerate(args.passwords)))
        else:
            lines = [timed(item) for item in enumerate(args.passwords)]
    except HashingError as exc:
        print(f"Could not generate hash: {exc}", file=sys.stderr)
        return 1
    print("\n".join(lines))
    print(f"total: {duration(time.perf_counter() - start)}")
    return 0
