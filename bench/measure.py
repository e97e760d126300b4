"""Running a command as the benchmarks measure it: wall time and the peak RSS of its process tree.

The peak is sampled every 50 ms from /proc and summed over the process and all
its descendants (a Spark JVM, a spawned server): the figure the memory targets
of issue #16 are about. The process's own high-water mark (``VmHWM``, exact,
not sampled) is kept beside it.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

PAGE_KIB = os.sysconf("SC_PAGE_SIZE") // 1024


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        tree.setdefault(ppid, []).append(int(entry.name))
    return tree


def tree_rss_kib(pid: int) -> int:
    """Resident memory of ``pid`` and all its descendants, in KiB."""
    tree = _children()
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        try:
            resident = int((Path("/proc") / str(current) / "statm").read_text().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        total += resident * PAGE_KIB
        todo.extend(tree.get(current, []))
    return total


def own_peak_kib(pid: int) -> int:
    """The process's own peak resident set so far (``VmHWM``); 0 once it has exited."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        return 0
    return 0


@dataclass
class Timed:
    seconds: float
    tree_peak_kib: int
    """Peak of the summed RSS of the process tree (sampled)."""
    own_peak_kib: int
    """The main process's own VmHWM (exact)."""
    stdout: str

    @property
    def peak_mib(self) -> float:
        return max(self.tree_peak_kib, self.own_peak_kib) / 1024


def timed(cmd: list[str], *, env: dict[str, str], cwd: Path) -> Timed:
    """Run ``cmd`` to its end; raise SystemExit with its last error line when it fails."""
    started = time.perf_counter()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        proc = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=out, stderr=err, text=True)
        tree_peak = own_peak = 0
        done = threading.Event()

        def sample() -> None:
            nonlocal tree_peak, own_peak
            while not done.is_set():
                tree_peak = max(tree_peak, tree_rss_kib(proc.pid))
                own_peak = max(own_peak, own_peak_kib(proc.pid))
                done.wait(0.05)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        proc.wait()
        done.set()
        sampler.join()
        seconds = time.perf_counter() - started
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        last = stderr.strip().splitlines()[-1:]
        raise SystemExit(f"{' '.join(cmd[1:5])}... failed ({proc.returncode}): {last}")
    return Timed(seconds=seconds, tree_peak_kib=tree_peak, own_peak_kib=own_peak, stdout=stdout)
