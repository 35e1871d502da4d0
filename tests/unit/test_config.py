"""The fleet file: the shipped example, validation messages naming node and field,
XDG / JSTUI_CONFIG location, command-line overrides."""
from pathlib import Path

import pytest

from jstui.config import (ConfigError, default_config_path, find_config, load_config,
                          parse_config, with_overrides)

EXAMPLE = Path(__file__).resolve().parents[2] / "jstui" / "examples" / "fleet.toml"


def test_example_describes_a_six_node_lab():
    cfg = load_config(EXAMPLE)
    assert len(cfg.nodes) == 6
    assert {n.labels["os"] for n in cfg.nodes} == {"linux", "macos"}
    mac = cfg.node("mac1")
    assert mac.workdir.startswith("/Users/") and mac.python == "/opt/homebrew/bin/python3"
    assert cfg.node("lab2").python.endswith("venv/bin/python")
    assert cfg.node("lab1").addresses == ("lab1.lan", "192.168.1.11")
    assert cfg.node("lab4").port == 2222
    assert all(n.host_key_check for n in cfg.nodes)
    assert cfg.puzzle == str(EXAMPLE.parent / "puzzles" / "public")  # relative to the file


def test_defaults_apply_and_nodes_override_them():
    cfg = parse_config({"defaults": {"python": "/opt/py/bin/python3", "workers": 3},
                        "node": [{"name": "a", "host": "a.lan"},
                                 {"name": "b", "host": "b.lan", "workers": 5}]})
    assert [n.workers for n in cfg.nodes] == [3, 5]
    assert {n.python for n in cfg.nodes} == {"/opt/py/bin/python3"}


def test_host_and_fallback_in_defaults():
    """As docs/fleet.md says: several nodes on one machine (by port or user) share them;
    a name never is shared."""
    cfg = parse_config({"defaults": {"host": "lab4.lan", "fallback": ["10.0.0.4"]},
                        "node": [{"name": "a", "port": 2222},
                                 {"name": "b", "port": 2223, "host": "lab5.lan"}]})
    assert [n.addresses for n in cfg.nodes] == [("lab4.lan", "10.0.0.4"),
                                                ("lab5.lan", "10.0.0.4")]
    with pytest.raises(ConfigError, match=r"\[defaults\]: unknown field 'name'"):
        parse_config({"defaults": {"name": "x"}, "node": [{"name": "a", "host": "h"}]})


@pytest.mark.parametrize("node, message", [
    ({"name": "n1", "host": "h", "workdir": "jstui"}, "node 'n1': field 'workdir': must be an absolute"),
    ({"name": "n1", "host": "h", "python": "python3"}, "node 'n1': field 'python': must be an absolute"),
    ({"name": "n1", "host": "h", "port": 70000}, "node 'n1': field 'port'"),
    ({"name": "n1", "host": "h", "port": "22"}, "node 'n1': field 'port': must be int"),
    ({"name": "n1", "host": "h", "workers": -1}, "node 'n1': field 'workers'"),
    ({"name": "n1", "host": "h", "nice": 40}, "node 'n1': field 'nice'"),
    ({"name": "n1", "host": "h", "fallback": [1]}, "node 'n1': field 'fallback'"),
    ({"name": "n1", "host": "h", "kind": "docker"}, "node 'n1': field 'kind'"),
    ({"name": "n1", "host": "h", "wrokers": 2},
     "node 'n1': unknown field 'wrokers' (did you mean 'workers'?)"),
    ({"name": "n1", "host": "h", "workdr": "/w"},
     "node 'n1': unknown field 'workdr' (did you mean 'workdir'?)"),
    ({"name": "n1"}, "node 'n1': field 'host': required"),
    ({"host": "h"}, "node #1: field 'name'"),
    ({"name": "a b", "host": "h"}, "node #1: field 'name'"),
])
def test_validation_names_node_and_field(node, message):
    with pytest.raises(ConfigError) as e:
        parse_config({"node": [node]}, source="fleet.toml")
    assert message in str(e.value)
    assert str(e.value).startswith("fleet.toml")


def test_duplicate_names_and_unknown_sections_are_refused():
    with pytest.raises(ConfigError, match="node 'a': field 'name': duplicate"):
        parse_config({"node": [{"name": "a", "host": "x"}, {"name": "a", "host": "y"}]})
    with pytest.raises(ConfigError, match=r"\[workers\]: field 'runs'"):
        parse_config({"workers": {"runs": -2}})


@pytest.mark.parametrize("raw, message", [
    ({"nodes": [{"name": "a"}]}, ": unknown table [[nodes]] (did you mean [[node]]?)"),
    ({"pol": {"dsn": "x"}}, ": unknown table [pol] (did you mean [pool]?)"),
    ({"dsn": "postgresql://x"}, ": unknown field 'dsn' at the top level (it belongs in [pool])"),
    ({"workdir": "/w"}, ": unknown field 'workdir' at the top level (it belongs in [defaults] "
                        "or a [[node]])"),
    ({"pool": {"dns": "x"}}, " [pool]: unknown field 'dns' (did you mean 'dsn'?)"),
    ({"workers": {"run": 1}}, " [workers]: unknown field 'run' (did you mean 'runs'?)"),
])
def test_a_misspelled_table_is_called_a_table_and_names_get_a_suggestion(raw, message):
    with pytest.raises(ConfigError) as e:
        parse_config(raw, source="fleet.toml")
    assert str(e.value) == "fleet.toml" + message


def test_local_node_needs_no_host():
    cfg = parse_config({"node": [{"name": "here", "kind": "local", "workdir": "/tmp/x"}]})
    assert cfg.nodes[0].kind == "local"


def test_bad_toml_and_missing_file_name_the_file(tmp_path):
    bad = tmp_path / "fleet.toml"
    bad.write_text("[pool\n")
    with pytest.raises(ConfigError, match=f"{bad}: not valid TOML"):
        load_config(bad)
    with pytest.raises(ConfigError, match="fleet file not found"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(ConfigError, match="no node named 'zz'"):
        parse_config({}).node("zz")


def test_location_env_and_xdg(tmp_path, monkeypatch):
    monkeypatch.delenv("JSTUI_CONFIG", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert default_config_path() == tmp_path / "xdg" / "jstui" / "fleet.toml"
    assert find_config() is None  # no file: the local default fleet
    (tmp_path / "xdg" / "jstui").mkdir(parents=True)
    (tmp_path / "xdg" / "jstui" / "fleet.toml").write_text("")
    assert find_config() == tmp_path / "xdg" / "jstui" / "fleet.toml"
    other = tmp_path / "other.toml"
    monkeypatch.setenv("JSTUI_CONFIG", str(other))
    with pytest.raises(ConfigError, match="JSTUI_CONFIG"):
        find_config()
    other.write_text("")
    assert find_config() == other
    with pytest.raises(ConfigError, match="not found"):
        find_config(tmp_path / "flag.toml")  # --config wins and must exist


def test_flags_override_file_and_env(monkeypatch, tmp_path):
    cfg = parse_config({"pool": {"dsn": "postgresql://file"}, "puzzle": {"path": "/p/file"}})
    monkeypatch.delenv("JSTUI_DSN", raising=False)
    assert with_overrides(cfg).dsn == "postgresql://file"
    monkeypatch.setenv("JSTUI_DSN", "postgresql://env")
    assert with_overrides(cfg).dsn == "postgresql://env"
    out = with_overrides(cfg, dsn="postgresql://flag", puzzle=str(tmp_path))
    assert out.dsn == "postgresql://flag" and out.puzzle == str(tmp_path)
    assert with_overrides(cfg).puzzle == "/p/file"


def test_silent_after_is_the_one_name_and_heartbeat_stale_still_reads():
    assert parse_config({"workers": {"silent_after": 45}}).workers.silent_after == 45
    assert parse_config({"workers": {"heartbeat_stale": 50}}).workers.silent_after == 50
    with pytest.raises(ConfigError, match="older name of 'silent_after'"):
        parse_config({"workers": {"heartbeat_stale": 50, "silent_after": 45}})
