"""Issue 15's papercuts, each as the operator met it: brackets eaten as markup, a deploy
message that says its counts twice, `status | head` exiting 1, `serve --host` blaming
the port, the worker's page of usage."""
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from jstui.config import parse_config
from jstui.fleet import Fleet
from tests.helpers import fleet_cli, rows_of, write_fleet_file

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]
NO_DSN = "no pool DSN ([pool] dsn, --dsn or JSTUI_DSN)"


def local_config(tmp_path, puzzle=None, dsn=None):
    raw = {"node": [{"name": "here", "kind": "local", "python": sys.executable,
                     "workdir": str(tmp_path / "work"), "workers": 1, "nice": 0}]}
    if puzzle:
        raw["puzzle"] = {"path": str(puzzle)}
    if dsn:
        raw["pool"] = {"dsn": dsn}
    return parse_config(raw, source=str(tmp_path / "fleet.toml"))


def test_brackets_in_fleet_tables_are_text(sshd_fleet, tmp_path):
    cfg = write_fleet_file(tmp_path / "fleet.toml", sshd_fleet, ["alpha"])
    r = fleet_cli("check", "--config", str(cfg), columns=None)
    assert NO_DSN in rows_of(r)["(pool)"], r.stdout


async def test_brackets_in_a_toast_are_text(tmp_path):
    """`R` on a fleet without a DSN: the toast says where to set one, "[pool]" included."""
    from jstui.app import ControlCenter
    from jstui.backend import LiveBackend
    from jstui.live import LiveSource
    from textual.widgets._toast import Toast
    from tests.helpers import on_screen, until

    async with Fleet(local_config(tmp_path)) as fleet:
        source = LiveSource(None, fleet, refresh=0.5, min_interval=0.1)
        app = ControlCenter(source, LiveBackend(source, fleet))
        async with app.run_test(size=(160, 48)) as pilot:
            await pilot.press("R")
            await on_screen(pilot, "ConfirmScreen")
            await pilot.press("y")
            await until(pilot, lambda: any("no pool DSN" in n.message
                                           for n in app._notifications), timeout=10)
            [said] = [n for n in app._notifications if "no pool DSN" in n.message]
            shown = str(Toast(said).render())     # as the toast draws it
    assert NO_DSN in shown, shown


async def test_deploy_says_its_counts_once(tmp_path, small_puzzle_dir):
    from jstui.backend import LiveBackend
    from jstui.live import LiveSource

    async with Fleet(local_config(tmp_path, puzzle=small_puzzle_dir)) as fleet:
        [first] = await fleet.deploy()
        sent = len(first.uploaded)
        assert first.summary == f"{sent} sent, 0 unchanged"
        source = LiveSource(None, fleet, refresh=0.5, min_interval=0.1)
        said = await LiveBackend(source, fleet).deploy()     # what `d` puts in the log
    assert said == f"deploy: here: 0 sent, {sent} unchanged"


def test_status_for_a_reader_that_left_exits_0(sshd_fleet, small_puzzle_dir, tmp_path):
    cfg = write_fleet_file(tmp_path / "fleet.toml", sshd_fleet, ["alpha"])
    r = fleet_cli("deploy", "--config", str(cfg), "--puzzle", str(small_puzzle_dir))
    assert r.returncode == 0, r.stdout + r.stderr
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "JSTUI_CONFIG",
                                                             "JSTUI_DSN")}
    for reader in ("true", "head -n 1"):
        run = subprocess.run(["bash", "-o", "pipefail", "-c",
                              f"{sys.executable} -m jstui.fleet status --config {cfg} | {reader}"],
                             cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, (reader, run.stdout, run.stderr)
        assert run.stderr == "" and run.stdout.rstrip() == ("" if reader == "true" else "nodes")


def test_serve_with_an_address_not_here_blames_the_host(capsys):
    from jstui.__main__ import main

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    assert main(["serve", "--host", "192.0.2.1", "--port", str(free)]) == 2   # TEST-NET-1
    err = capsys.readouterr().err
    assert err.startswith("jstui: --host: cannot listen on 192.0.2.1: ") and "--port" not in err
    assert "beyond this machine" not in err   # nothing listens: no warning about it


def test_the_worker_without_arguments_says_one_sentence():
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run([sys.executable, "-m", "solver.worker"], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr == ("python -m solver.worker: error: the following arguments are "
                        "required: --puzzle (`python -m solver.worker --help` lists the "
                        "options)\n")
