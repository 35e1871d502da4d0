"""The fleet file: a TOML description of the pool, the puzzle and the nodes, its
validation (errors name the node and the field) and its XDG location."""
from __future__ import annotations

import dataclasses
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, Mapping

import platformdirs

from solver.pool.lifecycle import SILENT_AFTER_S
from solver.pool.locate import pick_dsn

CONFIG_ENV = "JSTUI_CONFIG"
NODE_KINDS = ("ssh", "local")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class ConfigError(Exception):
    """A fleet file the user must fix; the message names the file, node and field."""

    exit_code = 2


@dataclass(frozen=True)
class NodeConfig:
    """One machine of the fleet, as written in the fleet file."""

    name: str
    kind: str = "ssh"
    host: str = ""
    fallback: tuple[str, ...] = ()      # addresses tried in order after `host`
    port: int = 22
    user: str | None = None
    key_file: str | None = None
    host_key_check: bool = True
    known_hosts: str | None = None      # None: the user's ~/.ssh/known_hosts
    python: str = "/usr/bin/python3"
    # Why this python: "fleet file" (set there), "default" (not set: the venv `fleet
    # bootstrap` made in the workdir when there is one, else /usr/bin/python3), "venv"
    # (that venv, found on the node), "local" (jstui's own, the fleet without a file).
    python_source: str = "default"
    workdir: str = "/var/tmp/jstui"
    workers: int = 1
    nice: int = 10
    connect_timeout: float = 5.0
    keepalive: float = 15.0
    max_sessions: int = 8
    labels: Mapping[str, str] = field(default_factory=dict)

    @property
    def addresses(self) -> tuple[str, ...]:
        """Where to connect, in the order to try."""
        return (self.host, *self.fallback) if self.host else self.fallback


@dataclass(frozen=True)
class WorkerSettings:
    """How workers are started on every node."""

    runs: int = 0                  # 0: run forever (--forever)
    auto_relaunch: bool = False    # relaunch workers whose runs are done
    relaunch_crashed: bool = False
    # SIGTERM to SIGKILL; longer than the worker's --flush-timeout (15 s), so a stopping
    # worker can still deliver or spool its results.
    stop_grace: float = 20.0
    # Seconds without a pool heartbeat before a live worker is stalled (its process runs)
    # or lost (the pool's rule for silence, solver.pool.lifecycle; the fleet file may
    # ask for more patience). `heartbeat_stale`, its older name, is still read.
    silent_after: float = SILENT_AFTER_S
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class FleetConfig:
    """The whole fleet file after validation."""

    dsn: str | None
    puzzle: str | None
    nodes: tuple[NodeConfig, ...]
    workers: WorkerSettings = WorkerSettings()
    source: str | None = None      # the file it came from, None when built in code

    def node(self, name: str) -> NodeConfig:
        for node in self.nodes:
            if node.name == name:
                return node
        known = ", ".join(n.name for n in self.nodes) or "none"
        raise ConfigError(f"no node named {name!r} in the fleet (known: {known})")


def default_config_path() -> Path:
    """The fleet file in the user's XDG config dir (JSTUI_CONFIG overrides)."""
    env = os.environ.get(CONFIG_ENV)
    if env:
        return Path(env).expanduser()
    return Path(platformdirs.user_config_dir("jstui")) / "fleet.toml"


def find_config(path: str | os.PathLike | None = None) -> Path | None:
    """The fleet file to use: `path` (must exist), else the default if it exists."""
    if path is not None:
        p = Path(path).expanduser()
        if not p.is_file():
            raise ConfigError(f"{p}: fleet file not found")
        return p
    p = default_config_path()
    if os.environ.get(CONFIG_ENV) and not p.is_file():
        raise ConfigError(f"{p}: fleet file not found (from ${CONFIG_ENV})")
    return p if p.is_file() else None


def load_config(path: str | os.PathLike) -> FleetConfig:
    """Read and validate a fleet file; raises ConfigError naming the problem."""
    p = Path(path).expanduser()
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: fleet file not found") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    except (OSError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: cannot read: {e}") from None
    return parse_config(raw, source=str(p))


def parse_config(raw: Mapping[str, Any], source: str | None = None) -> FleetConfig:
    """Validate a parsed fleet file (a dict as tomllib returns it)."""
    where = source or "fleet config"
    _no_unknown_tables(raw, where)
    pool = _table(raw, "pool", where)
    _no_unknown(pool, {"dsn"}, f"{where} [pool]")
    dsn = _opt_str(pool, "dsn", f"{where} [pool]")
    puzzle_t = _table(raw, "puzzle", where)
    _no_unknown(puzzle_t, {"path"}, f"{where} [puzzle]")
    puzzle = _opt_str(puzzle_t, "path", f"{where} [puzzle]")
    if puzzle is not None:
        puzzle = _resolve_local(puzzle, source)
    workers = _parse_workers(_table(raw, "workers", where), f"{where} [workers]")
    defaults = _table(raw, "defaults", where)
    _no_unknown(defaults, _NODE_FIELDS - {"name"}, f"{where} [defaults]")
    nodes_raw = raw.get("node", [])
    if not isinstance(nodes_raw, list):
        raise ConfigError(f"{where}: 'node' must be an array of tables ([[node]])")
    nodes: list[NodeConfig] = []
    for i, node_raw in enumerate(nodes_raw):
        if not isinstance(node_raw, dict):
            raise ConfigError(f"{where}: node #{i + 1} must be a table")
        node = _parse_node({**defaults, **node_raw}, i, where, source)
        if any(n.name == node.name for n in nodes):
            raise ConfigError(f"{where}: node {node.name!r}: field 'name': duplicate node name")
        nodes.append(node)
    return FleetConfig(dsn=dsn, puzzle=puzzle, nodes=tuple(nodes), workers=workers,
                       source=source)


def with_overrides(cfg: FleetConfig, *, dsn: str | None = None,
                   puzzle: str | None = None) -> FleetConfig:
    """Command-line flags win over the file; JSTUI_DSN is the default of --dsn."""
    dsn = pick_dsn(dsn, file=cfg.dsn)     # "embedded" stays a word here (jstui.fleet.opening)
    if puzzle is not None:
        puzzle = str(Path(puzzle).expanduser().resolve())
    return dataclasses.replace(cfg, dsn=dsn, puzzle=puzzle or cfg.puzzle)


_NODE_FIELDS = {f.name for f in dataclasses.fields(NodeConfig)} - {"python_source"}
_INT_RANGES = {"port": (1, 65535), "workers": (0, None), "nice": (0, 19),
               "max_sessions": (1, None)}


def _parse_node(raw: dict, index: int, where: str, source: str | None) -> NodeConfig:
    name = raw.get("name")
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise ConfigError(f"{where}: node #{index + 1}: field 'name': required, letters, "
                          f"digits, '.', '_' or '-' (got {name!r})")
    at = f"{where}: node {name!r}"
    _no_unknown(raw, _NODE_FIELDS, at)
    kind = raw.get("kind", "ssh")
    if kind not in NODE_KINDS:
        raise ConfigError(f"{at}: field 'kind': must be one of {', '.join(NODE_KINDS)} "
                          f"(got {kind!r})")
    values: dict[str, Any] = {"name": name, "kind": kind}
    values["host"] = _typed(raw, "host", str, "", at)
    fallback = raw.get("fallback", [])
    if isinstance(fallback, str):
        fallback = [fallback]
    if not isinstance(fallback, list) or not all(isinstance(a, str) and a for a in fallback):
        raise ConfigError(f"{at}: field 'fallback': must be a list of addresses")
    values["fallback"] = tuple(fallback)
    if kind == "ssh" and not (values["host"] or fallback):
        raise ConfigError(f"{at}: field 'host': required for an ssh node")
    for key, (low, high) in _INT_RANGES.items():
        values[key] = _int_in(raw, key, getattr(NodeConfig, key), low, high, at)
    values["user"] = _typed(raw, "user", str, None, at)
    key_file = _typed(raw, "key_file", str, None, at)
    values["key_file"] = _resolve_local(key_file, source) if key_file else None
    values["host_key_check"] = _typed(raw, "host_key_check", bool, True, at)
    known = _typed(raw, "known_hosts", str, None, at)
    values["known_hosts"] = _resolve_local(known, source) if known else None
    for key, default in (("python", NodeConfig.python), ("workdir", NodeConfig.workdir)):
        value = _typed(raw, key, str, default, at)
        if not PurePosixPath(value).is_absolute():
            raise ConfigError(f"{at}: field {key!r}: must be an absolute path (got {value!r})")
        values[key] = value
    values["python_source"] = "fleet file" if "python" in raw else "default"
    for key in ("connect_timeout", "keepalive"):
        value = _number(raw, key, getattr(NodeConfig, key), at)
        if value <= 0:
            raise ConfigError(f"{at}: field {key!r}: must be > 0 (got {value})")
        values[key] = value
    labels = raw.get("labels", {})
    if not isinstance(labels, dict):
        raise ConfigError(f"{at}: field 'labels': must be a table of strings")
    values["labels"] = {str(k): str(v) for k, v in labels.items()}
    return NodeConfig(**values)


def _parse_workers(raw: dict, at: str) -> WorkerSettings:
    fields_ = {f.name for f in dataclasses.fields(WorkerSettings)}
    if "heartbeat_stale" in raw:            # the field's older name
        if "silent_after" in raw:
            raise ConfigError(f"{at}: 'heartbeat_stale' is the older name of 'silent_after': "
                              "give one of them")
        raw = {("silent_after" if k == "heartbeat_stale" else k): v for k, v in raw.items()}
    _no_unknown(raw, fields_, at)
    runs = _typed(raw, "runs", int, 0, at)
    if runs < 0:
        raise ConfigError(f"{at}: field 'runs': must be >= 0, 0 meaning forever")
    extra = raw.get("extra_args", [])
    if not isinstance(extra, list) or not all(isinstance(a, str) for a in extra):
        raise ConfigError(f"{at}: field 'extra_args': must be a list of strings")
    return WorkerSettings(
        runs=runs,
        auto_relaunch=_typed(raw, "auto_relaunch", bool, False, at),
        relaunch_crashed=_typed(raw, "relaunch_crashed", bool, False, at),
        stop_grace=_number(raw, "stop_grace", WorkerSettings.stop_grace, at),
        silent_after=_number(raw, "silent_after", SILENT_AFTER_S, at),
        extra_args=tuple(extra),
    )


def _int_in(raw: Mapping, key: str, default: int, low: int, high: int | None, at: str) -> int:
    value = _typed(raw, key, int, default, at)
    if value < low or (high is not None and value > high):
        bounds = f"{low}..{high}" if high is not None else f">= {low}"
        raise ConfigError(f"{at}: field {key!r}: must be {bounds} (got {value})")
    return value


def _table(raw: Mapping, key: str, where: str) -> dict:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where}: [{key}] must be a table")
    return value


def _no_unknown(raw: Mapping, allowed: set[str], at: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        raise ConfigError(f"{at}: unknown field {unknown[0]!r}{_did_you_mean(unknown[0], allowed)}")


_TABLES = {"pool": "[pool]", "puzzle": "[puzzle]", "workers": "[workers]",
           "defaults": "[defaults]", "node": "[[node]]"}


def _no_unknown_tables(raw: Mapping, where: str) -> None:
    """The top level holds tables only; a field written there belongs in one of them."""
    unknown = sorted(set(raw) - set(_TABLES))
    if not unknown:
        return
    name = unknown[0]
    if isinstance(raw[name], (dict, list)):
        written = f"[[{name}]]" if isinstance(raw[name], list) else f"[{name}]"
        hint = _did_you_mean(name, set(_TABLES), shown=lambda t: _TABLES[t])
        raise ConfigError(f"{where}: unknown table {written}{hint}")
    home = _home_table(name)
    hint = f" (it belongs in {home})" if home else _did_you_mean(name, set(_TABLES),
                                                                 shown=lambda t: _TABLES[t])
    raise ConfigError(f"{where}: unknown field {name!r} at the top level{hint}")


def _home_table(field_name: str) -> str | None:
    """The table a field belongs in, for a field written at the top level."""
    homes = [({"dsn"}, "[pool]"), ({"path"}, "[puzzle]"),
             ({f.name for f in dataclasses.fields(WorkerSettings)}, "[workers]"),
             (_NODE_FIELDS, "[defaults] or a [[node]]")]
    return next((home for fields_, home in homes if field_name in fields_), None)


def _did_you_mean(name: str, allowed: set[str], shown=repr) -> str:
    import difflib

    close = difflib.get_close_matches(name, sorted(allowed), n=1, cutoff=0.6)
    return f" (did you mean {shown(close[0])}?)" if close else ""


def _typed(raw: Mapping, key: str, kind: type, default: Any, at: str) -> Any:
    value = raw.get(key, default)
    # bool is an int in Python; a port of `true` is still wrong.
    if value is not default and (not isinstance(value, kind)
                                 or (kind is int and isinstance(value, bool))):
        raise ConfigError(f"{at}: field {key!r}: must be {kind.__name__} (got {value!r})")
    return value


def _number(raw: Mapping, key: str, default: float, at: str) -> float:
    value = raw.get(key, default)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigError(f"{at}: field {key!r}: must be a number (got {value!r})")
    return float(value)


def _opt_str(raw: Mapping, key: str, at: str) -> str | None:
    value = raw.get(key)
    if value is not None and not isinstance(value, str):
        raise ConfigError(f"{at}: field {key!r}: must be a string")
    return value or None


def _resolve_local(path: str, source: str | None) -> str:
    """Paths on this machine: `~` expanded, relative ones against the fleet file."""
    p = Path(path).expanduser()
    if not p.is_absolute() and source:
        p = Path(source).parent / p
    return str(p)
