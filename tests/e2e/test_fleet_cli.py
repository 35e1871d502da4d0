"""`python -m jstui.fleet ...` from a shell: tables, exit codes, one-line errors."""
from pathlib import Path

import pytest
from tests.helpers import wait_until
from tests.helpers import fleet_cli, rows_of, write_fleet_file

pytestmark = pytest.mark.timeout(180)
ROOT = Path(__file__).resolve().parents[2]


def test_check_and_status_report_a_down_node_and_exit_1(sshd_fleet, tmp_path):
    cfg = write_fleet_file(tmp_path / "fleet.toml", sshd_fleet, ["alpha", "gamma", "delta"])
    r = fleet_cli("check", "--config", str(cfg))
    assert r.returncode == 1, r.stderr
    rows = {line.split("│")[1].strip(): line for line in r.stdout.splitlines()
            if line.count("│") > 3}
    assert "ok" in rows["alpha"] and "ok" in rows["gamma"]
    assert "failed" in rows["delta"] and "connection refused" in rows["delta"]
    r = fleet_cli("status", "--config", str(cfg))
    assert r.returncode == 1
    assert "down" in r.stdout and "up" in r.stdout
    r = fleet_cli("check", "alpha", "--config", str(cfg), "--dsn", "postgresql://x@127.0.0.1:1/x")
    assert r.returncode == 1 and "cannot reach the pool" in rows_of(r)["alpha"]


def test_check_reports_a_missing_dsn_before_launch_does(sshd_fleet, tmp_path, fresh_dsn):
    cfg = write_fleet_file(tmp_path / "fleet.toml", sshd_fleet, ["alpha"])
    r = fleet_cli("check", "--config", str(cfg))
    assert r.returncode == 1, r.stdout + r.stderr
    rows = rows_of(r)
    workdir = sshd_fleet.daemons["alpha"].workdir
    assert "ok" in rows["alpha"] and f"workdir {workdir}" in rows["alpha"]
    assert rows["(pool)"].startswith("failed") and f"{cfg}: no pool DSN" in rows["(pool)"]
    cfg = write_fleet_file(tmp_path / "fleet.toml", sshd_fleet, ["alpha"], dsn=fresh_dsn)
    r = fleet_cli("check", "--config", str(cfg))
    assert r.returncode == 0, r.stdout + r.stderr
    rows = rows_of(r)
    assert "pool reachable" in rows["alpha"] and "PostgreSQL" in rows["(pool)"]


def test_deploy_launch_logs_stop_from_a_shell(sshd_fleet, small_puzzle_dir, tmp_path):
    cfg = write_fleet_file(tmp_path / "fleet.toml", sshd_fleet, ["gamma"])
    r = fleet_cli("deploy", "--config", str(cfg), "--puzzle", str(small_puzzle_dir))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "sent" in r.stdout
    # A DSN nobody answers: the worker starts anyway (it works offline and retries).
    dsn = "postgresql://nobody@127.0.0.1:1/none"
    r = fleet_cli("launch", "gamma", "-n", "1", "--config", str(cfg), "--dsn", dsn,
                  "--puzzle", str(small_puzzle_dir))
    assert r.returncode == 0, r.stdout + r.stderr
    assert "1 started" in r.stdout
    # Piped with no COLUMNS: the log's lines come out whole (rich wrapped them at 80).
    log = sshd_fleet.daemons["gamma"].workdir / "logs" / "0.log"
    assert wait_until(lambda: any(len(line) > 100 for line in log.read_text().splitlines()))
    r = fleet_cli("logs", "gamma/0", "-n", "5", "--config", str(cfg), columns=None)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 5 and any(len(line) > 100 for line in lines)
    assert all(line in log.read_text().splitlines() for line in lines)
    r = fleet_cli("logs", "gamma/5", "--config", str(cfg))    # no such slot: an error
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == "error: 'gamma/5': node gamma has no worker in slot 5 " \
                               "(its workers: gamma/0)"
    r = fleet_cli("stop", "gamma/0", "--config", str(cfg))
    assert r.returncode == 0 and "1 stopped" in r.stdout, r.stdout + r.stderr
    r = fleet_cli("status", "--config", str(cfg), columns=None)
    row = rows_of(r)["gamma/0"]
    # The log column: the exit line, in words (stopped on request, or killed after the
    # grace while it still retried the pool), not whatever the worker printed last.
    state, _pid, _since, code, _beat, shown = row.split(" ", 5)
    assert state == "stopped" and "pid=" not in shown
    assert shown in ("exit 0: stopped on request", f"stopped: killed by SIGKILL ({code})"), row


def test_user_errors_are_one_line_and_exit_2(sshd_fleet, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[[node]]\nname = "mac9"\nhost = "m"\nworkdir = "jstui"\n')
    r = fleet_cli("status", "--config", str(bad))
    assert r.returncode == 2
    assert r.stderr.strip() == (f"error: {bad}: node 'mac9': field 'workdir': must be an "
                                f"absolute path (got 'jstui')")
    cfg = write_fleet_file(tmp_path / "fleet.toml", sshd_fleet, ["alpha"])
    r = fleet_cli("stop", "nowhere", "--config", str(cfg))
    assert r.returncode == 2 and "no node named 'nowhere'" in r.stderr
    r = fleet_cli("launch", "--config", str(cfg))
    assert r.returncode == 2 and "no pool DSN" in r.stderr
    r = fleet_cli("status", "--config", str(tmp_path / "missing.toml"))
    assert r.returncode == 2 and "fleet file not found" in r.stderr
