"""One load phase: wrk against the server for a while, and the CPU each side took meanwhile.

CPU is in cores (CPU seconds over wall seconds): the load generator's from its own rusage, the
server's from /proc (the `dom serve` process and its children: uvicorn's workers and the embedded
Redis), the whole machine's from /proc/stat (PostgreSQL and a Redis server are in it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

SCRIPTS = Path(__file__).resolve().parent / "wrk"
TICKS_PER_S = os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Phase:
    """What wrk reported (its `done` line, see wrk/*.lua) and the CPU taken, in cores."""

    figures: dict
    wall_s: float
    generator_cores: float
    server_cores: float
    machine_cores: float

    @property
    def per_s(self) -> float:
        return self.figures["requests"] / (self.figures["duration_us"] / 1e6)

    @property
    def server_cpu_us(self) -> float:
        """The server's CPU per request (its process tree's): throughput on a core of its own."""
        return self.server_cores * self.wall_s / self.figures["requests"] * 1e6

    def summary(self) -> dict:
        return {
            **self.figures,
            "per_s": round(self.per_s),
            "server_cpu_us_per_request": round(self.server_cpu_us),
            "generator_cores": round(self.generator_cores, 2),
            "server_cores": round(self.server_cores, 2),
            "machine_cores": round(self.machine_cores, 2),
        }


def wrk(
    url: str,
    script: str,
    args: list[str],
    key: str,
    seconds: float,
    connections: int,
    threads: int,
    server_pid: int,
) -> Phase:
    """`wrk` for `seconds` with `connections` open over `threads` threads, closed loop."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    command = [
        binary, f"-t{threads}", f"-c{connections}", f"-d{round(seconds)}s", "--latency",
        "-H", f"Authorization: Bearer {key}", "-s", str(SCRIPTS / script), url, "--", *args,
    ]  # fmt: skip
    server_before, machine_before = tree_cpu_s(server_pid), machine_busy_s()
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall_s = time.perf_counter() - started
    out = process.stdout.read().decode() if process.stdout else ""
    err = process.stderr.read().decode() if process.stderr else ""
    if status != 0:
        raise RuntimeError(f"wrk failed ({status}):\n{out}\n{err}")
    figures = json.loads(out.strip().splitlines()[-1])
    return Phase(
        figures,
        wall_s,
        (usage.ru_utime + usage.ru_stime) / wall_s,
        (tree_cpu_s(server_pid) - server_before) / wall_s,
        (machine_busy_s() - machine_before) / wall_s,
    )


def tree_cpu_s(root: int) -> float:
    """CPU seconds (user + system) of `root` and every process below it, alive now."""
    parents: dict[int, int] = {}
    ticks: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue  # ended meanwhile
        fields = stat[stat.rindex(")") + 2 :].split()
        parents[int(entry)] = int(fields[1])
        ticks[int(entry)] = int(fields[11]) + int(fields[12])
    wanted, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        children = [child for child, parent in parents.items() if parent == pid]
        wanted.update(children)
        frontier.extend(children)
    return sum(ticks.get(pid, 0) for pid in wanted) / TICKS_PER_S


def machine_busy_s() -> float:
    """CPU seconds every core of the machine spent busy (not idle, not waiting on I/O)."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / TICKS_PER_S
