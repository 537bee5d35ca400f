"""Test hosts: network namespaces joined by a veth pair, for checks that must cross a network.

On development and CI machines Ray must never bind to the machine's own interface address
(DESIGN.md section 6), and a local Ray that keeps to 127.0.0.1 refuses a second node. So a
multi-node check runs each node as a test host: a namespace of its own (`ip netns add`) whose
only links are its loopback and one end of a veth pair. Whatever runs there can bind to nothing
but the test host's address, and the machine's interfaces stay untouched.

`TestHosts` makes a pair of hosts on a private /24, runs programs in them (`popen`, `run`) and,
on exit, kills every process left in each namespace (`ip netns pids`) and deletes both.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class TestHosts:
    """Two test hosts, `a` and `b`, at `<subnet>.1` and `<subnet>.2`."""

    subnet: str = "10.231.0"
    prefix: str = field(default_factory=lambda: f"ysim{os.getpid() % 100000}")
    processes: list[subprocess.Popen] = field(default_factory=list)

    __test__ = False  # not a pytest test class

    @property
    def names(self) -> dict[str, str]:
        return {"a": f"{self.prefix}a", "b": f"{self.prefix}b"}

    def address(self, host: str) -> str:
        return f"{self.subnet}.{1 if host == 'a' else 2}"

    def __enter__(self) -> "TestHosts":
        a, b = self.names["a"], self.names["b"]
        try:
            for name in (a, b):
                _ip("netns", "add", name)
                _ip("-n", name, "link", "set", "lo", "up")
            _ip("link", "add", f"{a}v", "type", "veth", "peer", "name", f"{b}v")
            for host, name in (("a", a), ("b", b)):
                _ip("link", "set", f"{name}v", "netns", name)
                _ip("-n", name, "addr", "add", f"{self.address(host)}/24", "dev", f"{name}v")
                _ip("-n", name, "link", "set", f"{name}v", "up")
        except BaseException:
            self.__exit__()
            raise
        return self

    def command(self, host: str, argv: Sequence[str]) -> list[str]:
        return ["ip", "netns", "exec", self.names[host], *argv]

    def popen(self, host: str, argv: Sequence[str], **kwargs) -> subprocess.Popen:
        """Start `argv` on `host` in the background; it is killed when the hosts go away."""
        process = subprocess.Popen(self.command(host, argv), start_new_session=True, **kwargs)
        self.processes.append(process)
        return process

    def run(self, host: str, argv: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
        return subprocess.run(self.command(host, argv), **kwargs)

    def __exit__(self, *exc: object) -> None:
        for name in self.names.values():
            _kill_all_in(name)
        for process in self.processes:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        for name in self.names.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True)  # its veth end goes with it


def _ip(*args: str) -> None:
    done = subprocess.run(["ip", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"ip {' '.join(args)}: {done.stderr.strip()}")


def _kill_all_in(namespace: str, grace_s: float = 5.0) -> None:
    """SIGTERM every process in the namespace, then SIGKILL what is left after `grace_s`."""
    started = time.monotonic()
    while time.monotonic() < started + 2 * grace_s:
        pids = subprocess.run(["ip", "netns", "pids", namespace], capture_output=True, text=True).stdout.split()
        if not pids:
            return
        sig = signal.SIGTERM if time.monotonic() < started + grace_s else signal.SIGKILL
        for pid in pids:
            try:
                os.kill(int(pid), sig)
            except ProcessLookupError:
                pass
        time.sleep(0.2)
