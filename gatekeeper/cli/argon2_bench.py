"""Measuring argon2id as gatekeeper hashes (argon2-cffi, in a pool of `hashers.threads` threads): one probe, a
load test of N logins per minute, and Kratos' `hashers argon2 calibrate` search for memory and iterations."""

from __future__ import annotations

import concurrent.futures
import dataclasses
import gc
import os
import random
import resource
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import argon2

MB = 1024 * 1024
Say = Callable[[str], None]


@dataclass(frozen=True)
class Argon2Params:
    """`hashers.argon2` as Kratos' `config.Argon2` holds it (bytes and seconds), plus the hashing pool size."""

    memory: int
    iterations: int
    parallelism: int
    salt_length: int
    key_length: int
    expected_duration: float
    expected_deviation: float
    dedicated_memory: int
    threads: int

    def hasher(self) -> argon2.PasswordHasher:
        return argon2.PasswordHasher(time_cost=self.iterations, memory_cost=self.memory // 1024,
                                     parallelism=self.parallelism, hash_len=self.key_length,
                                     salt_len=self.salt_length, type=argon2.Type.ID)

    def as_config(self) -> dict[str, Any]:
        """The values as `hashers.argon2` in gatekeeper's (and Kratos') config spells them."""
        return {"memory": byte_size(self.memory), "iterations": self.iterations, "parallelism": self.parallelism,
                "salt_length": self.salt_length, "key_length": self.key_length,
                "expected_duration": duration(self.expected_duration),
                "expected_deviation": duration(self.expected_deviation),
                "dedicated_memory": byte_size(self.dedicated_memory)}


@dataclass(frozen=True)
class LoadResult:
    """What one load test measured (Kratos' columns)."""

    total_time: float
    median_request_time: float
    std_deviation: float
    min_request_time: float
    max_request_time: float
    mem_used: int

    def as_json(self) -> dict[str, Any]:
        return {"total_time": duration(self.total_time), "median_request_time": duration(self.median_request_time),
                "std_deviation": duration(self.std_deviation), "min_request_time": duration(self.min_request_time),
                "max_request_time": duration(self.max_request_time), "mem_used": f"{self.mem_used / MB:.2f}MB"}


class LoadTestFailed(Exception):
    """The load test ran out of time or memory; the message says which and what to change."""


def byte_size(value: int) -> str:
    """Bytes as the config takes them: `128MB`, `1GB`, `512KB` (1024-based, whole units)."""
    for unit, size in (("GB", 1024 * MB), ("MB", MB), ("KB", 1024)):
        if value and value % size == 0:
            return f"{value // size}{unit}"
    return f"{value}B"


def duration(seconds: float) -> str:
    """Seconds as a Go duration: `512ms`, `1.25s`, `0s`."""
    if seconds == 0:
        return "0s"
    if seconds < 1:
        return f"{round(seconds * 1000, 3):g}ms"
    return f"{round(seconds, 3):g}s"


def probe(params: Argon2Params, runs: int, say: Say) -> float:
    """The mean time of `runs` hashes with `params`."""
    gc.collect()
    hasher = params.hasher()
    start = time.perf_counter()
    for run in range(runs):
        began = time.perf_counter()
        hasher.hash("password")
        say(f"    took {duration(time.perf_counter() - began)} in try {run}")
    return (time.perf_counter() - start) / runs


def load_test(params: Argon2Params, per_minute: int, sample_time: float, say: Say) -> LoadResult:
    """`per_minute` logins spread at random over `sample_time`, each hashed in the pool; LoadTestFailed when
    the run takes 10% longer than sample time + duration + deviation or memory exceeds 110% of the dedicated."""
    gc.collect()
    count = max(1, round(per_minute * sample_time / 60))
    say(f"It takes about {duration(sample_time)} to collect all necessary data, please be patient.")
    hasher = params.hasher()
    arrivals = sorted(random.uniform(0, sample_time) for _ in range(count))  # noqa: S311 - load, not secrets
    times: list[float] = []
    memory = [_rss()]
    deadline = (sample_time + params.expected_duration + params.expected_deviation) * 1.1
    lock = threading.Lock()

    def login(arrived: float) -> None:
        hasher.hash("password")
        with lock:
            times.append(time.perf_counter() - arrived)

    begin = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(max_workers=params.threads) as pool:
        pending = []
        for offset in arrivals:
            while (now := time.perf_counter() - begin) < offset:
                time.sleep(min(offset - now, 0.05))
                memory.append(_rss())
            pending.append(pool.submit(login, time.perf_counter()))
        while not all(f.done() for f in pending):
            memory.append(_rss())
            elapsed = time.perf_counter() - begin
            if elapsed > deadline or memory[-1] > params.dedicated_memory * 1.1:
                pool.shutdown(wait=True, cancel_futures=True)
                raise LoadTestFailed(_failure(params, per_minute, memory, elapsed > deadline))
            concurrent.futures.wait(pending, timeout=0.05, return_when=concurrent.futures.ALL_COMPLETED)
        for future in pending:
            future.result()
    return LoadResult(time.perf_counter() - begin, statistics.median(times),
                      statistics.pstdev(times), min(times), max(times), max(memory))


def _failure(params: Argon2Params, per_minute: int, memory: list[int], too_long: bool) -> str:
    need = (f"you don't have enough resources to handle {per_minute} login requests per minute with the desired "
            f"minimal time of {duration(params.expected_duration)}")
    if too_long:
        return (f"The hashing load test took too long. This indicates that {need}. The memory used was "
                f"{byte_size(max(memory))}. Either dedicate more CPU/memory, or decrease the hashing cost (memory "
                f"and iterations parameters).")
    return (f"The hashing load test exceeded the memory limit of {byte_size(params.dedicated_memory)}. This "
            f"indicates that {need}. Either dedicate more memory, or decrease the hashing cost (memory and "
            f"iterations parameters).")


def _rss() -> int:
    """This process's resident memory now (Linux), else its peak so far."""
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@dataclass(frozen=True)
class Calibration:
    """Where calibrating ended: the recommended params, or None with every load test's (result, params)."""

    params: Argon2Params | None
    attempts: list[tuple[LoadResult, Argon2Params]]


def calibrate(params: Argon2Params, *, per_minute: int, runs: int, max_memory: int, adjust_memory: int,
              sample_time: float, say: Say, settled: Say, show: Callable[[LoadResult], None]) -> Calibration:
    """Kratos' search: memory up past `expected_duration` then back under it, the same for iterations, then up
    to five load tests, each adjusting the cost, until one looks good."""
    p = params
    goal = p.expected_duration
    say(f"Increasing memory to get over {duration(goal)}:")
    while True:
        if max_memory and p.memory > max_memory:
            say("  ouch, hit the memory limit there")
            p = dataclasses.replace(p, memory=max_memory)
            break
        took = probe(p, runs, say)
        say(f"  took {duration(took)} with {byte_size(p.memory)} of memory")
        if took > goal:
            if p.memory <= adjust_memory:
                adjust_memory >>= 1
            p = dataclasses.replace(p, memory=p.memory - adjust_memory)
            break
        p = dataclasses.replace(p, memory=p.memory + adjust_memory)
    say(f"Decreasing memory to get under {duration(goal)}:")
    while True:
        took = probe(p, runs, say)
        say(f"  took {duration(took)} with {byte_size(p.memory)} of memory")
        if took < goal:
            break
        while p.memory <= adjust_memory:
            adjust_memory >>= 1
        p = dataclasses.replace(p, memory=p.memory - adjust_memory)
    settled(f"Settled on {byte_size(p.memory)} of memory.")
    p = _iterations(p, runs, say)
    settled(f"Settled on {p.iterations} iterations.")
    attempts: list[tuple[LoadResult, Argon2Params]] = []
    for _ in range(5):
        say(f"\nRunning load test to simulate {per_minute} login requests per minute.")
        result = load_test(p, per_minute, sample_time, say)
        attempts.append((result, p))
        say("The load test result is:\n")
        show(result)
        adjusted = _adjust(p, result, per_minute, max_memory, say)
        if adjusted is None:
            say("These values look good to me.\n")
            return Calibration(p, attempts)
        p = adjusted
    return Calibration(None, attempts)


def _iterations(p: Argon2Params, runs: int, say: Say) -> Argon2Params:
    goal = p.expected_duration
    say(f"Increasing iterations to get over {duration(goal)}:")
    while True:
        took = probe(p, runs, say)
        say(f"  took {duration(took)} with {p.iterations} iterations")
        if took > goal:
            p = dataclasses.replace(p, iterations=max(1, p.iterations - 1))
            break
        p = dataclasses.replace(p, iterations=p.iterations + 1)
    say(f"Decreasing iterations to get under {duration(goal)}:")
    while True:
        took = probe(p, runs, say)
        say(f"  took {duration(took)} with {p.iterations} iterations")
        if took < goal or p.iterations == 1:  # 1 may have been just under the goal and a bit over this time
            return p
        p = dataclasses.replace(p, iterations=p.iterations - 1)


def _adjust(p: Argon2Params, r: LoadResult, per_minute: int, max_memory: int, say: Say) -> Argon2Params | None:
    """The params for the next load test, or None when these look good (Kratos' rules, in its order)."""
    most = p.expected_duration + p.expected_deviation
    if r.median_request_time < p.expected_duration:
        say(f"The median was {duration(p.expected_duration - r.median_request_time)} under the minimal duration "
            f"of {duration(p.expected_duration)}, going to increase the hash cost.")
        if r.mem_used + 64 * MB < max_memory:
            say(f"Increasing memory to {byte_size(p.memory + 64 * MB)}")
            return dataclasses.replace(p, memory=p.memory + 64 * MB)
        say(f"Increasing iterations to {p.iterations + 1}")
        return dataclasses.replace(p, iterations=p.iterations + 1)
    if r.mem_used > p.dedicated_memory:
        say(f"The required memory was {byte_size(r.mem_used - p.dedicated_memory)} more than the maximum allowed "
            f"of {byte_size(p.dedicated_memory)}.")
        memory = max(MB, p.memory - (r.mem_used - p.dedicated_memory) // per_minute // MB * MB)
        say(f"Decreasing memory to {byte_size(memory)}")
        return dataclasses.replace(p, memory=memory)
    if r.max_request_time > most:
        say(f"The longest request took {duration(r.max_request_time - most)} longer than the longest acceptable "
            f"time of {duration(most)}, going to decrease the hash cost.")
        return _cheaper(p, say)
    if r.std_deviation > p.expected_deviation:
        say(f"The deviation was {duration(r.std_deviation - p.expected_deviation)} more than the expected "
            f"deviation of {duration(p.expected_deviation)}.")
        return _cheaper(p, say)
    return None


def _cheaper(p: Argon2Params, say: Say) -> Argon2Params:
    """One iteration less, or 64MB less memory once at one iteration."""
    if p.iterations > 1:
        say(f"Decreasing iterations to {p.iterations - 1}")
        return dataclasses.replace(p, iterations=p.iterations - 1)
    memory = max(MB, p.memory - 64 * MB)
    say(f"Decreasing memory to {byte_size(memory)}")
    return dataclasses.replace(p, memory=memory)
