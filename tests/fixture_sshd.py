"""Test fixtures: real OpenSSH daemons on loopback ports, each standing for a node with
its own work directory, plus throw-away host and user keys and a known_hosts file.

`sshd_fleet` (session): nodes "alpha", "beta", "gamma" (gamma's Python is at another
path) answer; "delta" is stopped (its port refuses). `sshd_fleet.config(...)` makes a
FleetConfig; `sshd_fleet.start_extra(n)` starts more daemons (benchmarks).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from tests.helpers import free_port

SSHD = shutil.which("sshd") or "/usr/sbin/sshd"


def wait_listening(port: int, proc: subprocess.Popen, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"sshd on port {port} exited with status {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2) as s:
                if s.recv(4).startswith(b"SSH-"):
                    return
        except OSError:
            time.sleep(0.02)
    raise RuntimeError(f"sshd on port {port} did not listen within {timeout} s")


def write_key(path: Path):
    import asyncssh

    key = asyncssh.generate_private_key("ssh-ed25519")
    key.write_private_key(str(path))
    os.chmod(path, 0o600)
    key.write_public_key(str(path) + ".pub")
    return key


@dataclass
class Daemon:
    name: str
    port: int
    root: Path
    workdir: Path
    python: str
    proc: subprocess.Popen | None = None
    argv: list[str] = field(default_factory=list)

    def run(self) -> None:
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL)
        wait_listening(self.port, self.proc)

    def drop_connections(self) -> None:
        """Kill the daemon and every connection it serves (its children, by pid)."""
        pid = self.proc.pid
        children = [p for p in Path("/proc").iterdir() if p.name.isdigit()
                    and _ppid(p) == pid]
        self.stop()
        for child in children:
            try:
                os.kill(int(child.name), 9)
            except ProcessLookupError:
                pass

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


@dataclass
class SshdFleet:
    root: Path
    user_key: Path
    known_hosts: Path
    host_key: Path
    daemons: dict[str, Daemon] = field(default_factory=dict)

    def start(self, name: str, python: str | None = None, run: bool = True) -> Daemon:
        node_root = self.root / name
        node_root.mkdir(parents=True, exist_ok=True)
        d = Daemon(name, free_port(), node_root, node_root / "work", python or sys.executable)
        if run:
            config = node_root / "sshd_config"
            config.write_text("\n".join([
                f"Port {d.port}", "ListenAddress 127.0.0.1", f"HostKey {self.host_key}",
                f"PidFile {node_root / 'sshd.pid'}",
                f"AuthorizedKeysFile {self.root / 'authorized_keys'}",
                "UsePAM no", "StrictModes no", "PasswordAuthentication no",
                "KbdInteractiveAuthentication no", "PubkeyAuthentication yes",
                "PermitRootLogin yes", "Subsystem sftp internal-sftp", "MaxSessions 64", "MaxStartups 200",
                "LogLevel ERROR", ""]))
            d.argv = [SSHD, "-D", "-f", str(config), "-E", str(node_root / "sshd.log")]
            d.run()
            with open(self.known_hosts, "a") as f:
                f.write(f"[127.0.0.1]:{d.port} {self.host_key_line}\n")
        self.daemons[name] = d
        return d

    @property
    def host_key_line(self) -> str:
        return " ".join(Path(str(self.host_key) + ".pub").read_text().split()[:2])

    def node(self, name: str, **overrides) -> dict:
        """The fleet-file table of one node (as parse_config takes it)."""
        d = self.daemons[name]
        table = {"name": name, "host": "127.0.0.1", "port": d.port, "user": "root",
                 "key_file": str(self.user_key), "known_hosts": str(self.known_hosts),
                 "python": d.python, "workdir": str(d.workdir), "workers": 2, "nice": 0,
                 "connect_timeout": 3.0, "keepalive": 5.0}
        table.update(overrides)
        return table

    def config(self, names=None, dsn: str | None = None, puzzle: str | None = None,
               workers: dict | None = None, **node_overrides):
        from jstui.config import parse_config

        names = names or [n for n in self.daemons if not n.startswith("extra")]
        raw = {"node": [self.node(n, **node_overrides.get(n, {})) for n in names]}
        if dsn:
            raw["pool"] = {"dsn": dsn}
        if puzzle:
            raw["puzzle"] = {"path": str(puzzle)}
        raw["workers"] = {"stop_grace": 3.0, **(workers or {})}
        return parse_config(raw)

    def stop_all(self) -> None:
        for d in self.daemons.values():
            d.stop()


def _ppid(proc_dir: Path) -> int:
    try:
        return int((proc_dir / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, ValueError, IndexError):
        return -1


def make_sshd_fleet(root: Path) -> SshdFleet:
    """Keys, known_hosts and an empty fleet under ROOT; start daemons with .start()."""
    os.makedirs("/run/sshd", exist_ok=True)  # sshd's privilege separation directory
    user_key = root / "id_user"
    write_key(user_key)
    (root / "authorized_keys").write_text(Path(str(user_key) + ".pub").read_text())
    host_key = root / "host_key"
    write_key(host_key)
    known_hosts = root / "known_hosts"
    known_hosts.write_text("")
    return SshdFleet(root, user_key, known_hosts, host_key)


def interpreter_at(prefix: Path) -> Path:
    """A venv at PREFIX whose python has this test run's packages. Not a symlink to
    sys.executable: a venv's python finds its pyvenv.cfg beside the path it is started
    by, so a link elsewhere would run the base interpreter without the venv's packages."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(prefix)], check=True)
    [site_dir] = prefix.glob("lib/python*/site-packages")
    dirs = [d for d in sys.path if d.endswith("-packages")]
    (site_dir / "test-run.pth").write_text(
        "import site; " + "; ".join(f"site.addsitedir({d!r})" for d in dirs) + "\n")
    return prefix / "bin" / "python3"


@pytest.fixture(scope="session")
def sshd_fleet(tmp_path_factory):
    if not os.path.exists(SSHD):
        pytest.skip("openssh-server is not installed (.ci/run installs it)")
    root = tmp_path_factory.mktemp("sshd")
    fleet = make_sshd_fleet(root)
    # gamma's interpreter lives elsewhere, as a venv's would.
    other = interpreter_at(root / "gamma-python")
    try:
        fleet.start("alpha")
        fleet.start("beta")
        fleet.start("gamma", python=str(other))
        fleet.start("delta", run=False)  # stopped: nothing listens on its port
        yield fleet
    finally:
        stop_workers(fleet)
        fleet.stop_all()


def undeploy(workdir: Path) -> None:
    """A node never deployed to: the daemons live for the session, their workdirs too."""
    for leftover in ("lib", "puzzles", "puzzle.npz"):
        target = workdir / leftover
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()


def stop_workers(fleet: SshdFleet) -> None:
    """Leave no worker behind: stop whatever the agent started under the test dirs."""
    agent = Path(__file__).resolve().parent.parent / "jstui" / "fleet" / "agent.py"
    for d in fleet.daemons.values():
        if (d.workdir / "run").is_dir():
            subprocess.run([sys.executable, str(agent), str(d.workdir), "stop",
                            '{"grace": 1}'], capture_output=True, timeout=30)
