"""`[pool] dsn = "embedded"` in a fleet file: this machine's embedded PostgreSQL, started
when a launch needs it, over TCP for the other machines once it listens there; a unix
socket DSN that a node cannot reach says what to do. A real server, real sshd."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from jstui.config import with_overrides, parse_config
from solver.pool.locate import EMBEDDED_DOWN, on_unix_socket, resolve_dsn
from tests.helpers import free_port
from tests.helpers import fleet_cli, rows_of, write_fleet_file

pytestmark = pytest.mark.timeout(300)
ROOT = Path(__file__).resolve().parents[2]


def test_the_word_embedded_is_kept_until_a_fleet_opens(monkeypatch):
    monkeypatch.delenv("JSTUI_DSN", raising=False)
    cfg = parse_config({"pool": {"dsn": "embedded"}})
    assert with_overrides(cfg).dsn == "embedded"
    assert with_overrides(cfg, dsn="postgresql://flag").dsn == "postgresql://flag"
    assert on_unix_socket("postgresql://postgres:@/postgres?host=/tmp/x&port=5432")
    assert on_unix_socket("postgresql:///postgres")
    assert not on_unix_socket("postgresql://u:p@db.lan:5432/postgres")
    assert not on_unix_socket("postgresql://u@/postgres?host=db.lan")


@pytest.fixture
def data_home():
    """XDG_DATA_HOME for a throw-away embedded server (outside pytest's basetemp, which
    the server's own system user may not enter)."""
    home = tempfile.mkdtemp(prefix="jstui-embedded-")
    yield home
    subprocess.run([sys.executable, "-m", "solver", "pool", "down"], cwd=ROOT,
                   env={**os.environ, "XDG_DATA_HOME": home}, capture_output=True, timeout=60)
    shutil.rmtree(home, ignore_errors=True)


async def test_a_fleet_file_on_the_embedded_pool(sshd_fleet, tmp_path, data_home, monkeypatch):
    from jstui.plan import open_fleet

    cfg = write_fleet_file(tmp_path / "fleet.toml", sshd_fleet, ["alpha"], dsn="embedded")
    env = {"XDG_DATA_HOME": data_home}
    r = fleet_cli("check", "--config", str(cfg), env=env, columns=None)
    assert r.returncode == 1
    assert rows_of(r)["(pool)"] == f"failed {EMBEDDED_DOWN} 0.00"
    assert rows_of(r)["alpha"].startswith("ok")
    # What launch does: start it (a unix socket, as with no fleet file).
    monkeypatch.setenv("XDG_DATA_HOME", data_home)
    monkeypatch.delenv("JSTUI_DSN", raising=False)
    fleet, local = await open_fleet(str(cfg), start_pool=True)
    await fleet.close()
    assert not local and on_unix_socket(fleet.config.dsn)
    # Listening on TCP (`pool up --listen`): "embedded" is the TCP DSN, for every node.
    port = free_port()
    up = subprocess.run([sys.executable, "-m", "solver", "pool", "up", "--listen", "127.0.0.1",
                         "--port", str(port)], cwd=ROOT, env={**os.environ, **env},
                        capture_output=True, text=True, timeout=120)
    assert up.returncode == 0, up.stderr
    assert resolve_dsn(None, file="embedded").endswith(f"@127.0.0.1:{port}/postgres")
    r = fleet_cli("check", "--config", str(cfg), env=env, columns=None)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"@127.0.0.1:{port}/postgres" in rows_of(r)["(pool)"]
    assert "workdir " in rows_of(r)["alpha"] and ", pool reachable" in rows_of(r)["alpha"]


def test_a_unix_socket_dsn_a_node_cannot_reach_says_what_to_do(sshd_fleet, tmp_path):
    cfg = write_fleet_file(tmp_path / "fleet.toml", sshd_fleet, ["alpha"])
    socket_dsn = f"postgresql://postgres:@/postgres?host={tmp_path / 'nowhere'}&port=5432"
    r = fleet_cli("check", "alpha", "--config", str(cfg), "--dsn", socket_dsn, columns=None)
    assert r.returncode == 1
    row = rows_of(r)["alpha"]
    assert "cannot reach the pool" in row and "a unix socket of this machine" in row
    assert "python -m solver pool up --listen 0.0.0.0" in row and 'dsn = "embedded"' in row
