"""The node agent's records, stdlib only (Linux and macOS): the slot records and exit
records, every worker's history line, the per-worker logs, and reading them. Deployed
beside the agent (lib/agent_records.py next to lib/jstui_agent.py)."""
from __future__ import annotations

import json
import os
import subprocess
import time

KEEP_LOGS = 10   # per slot: older workers' logs are removed at a launch


def _paths(workdir, slot):
    return (os.path.join(workdir, "run", "%d.json" % slot),
            os.path.join(workdir, "run", "%d.exit" % slot),
            os.path.join(workdir, "logs", "%d.log" % slot))


def _worker_log(workdir, slot, started):
    """One worker's own log: a slot's runs never share a file."""
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime(started))
    return os.path.join(workdir, "logs", "%d-%s-%d.log" % (slot, stamp, os.getpid()))


def _link_newest(workdir, slot, log_path):
    """logs/SLOT.log points at the slot's newest log (replaced atomically)."""
    link = _paths(workdir, slot)[2]
    tmp = "%s.%d.tmp" % (link, os.getpid())
    try:
        os.symlink(os.path.basename(log_path), tmp)
        os.replace(tmp, link)
    except OSError:
        pass


def _prune_logs(workdir, slot):
    logs = os.path.join(workdir, "logs")
    try:
        mine = sorted(n for n in os.listdir(logs)
                      if n.startswith("%d-" % slot) and n.endswith(".log"))
    except OSError:
        return
    for name in mine[:-KEEP_LOGS]:
        try:
            os.remove(os.path.join(logs, name))
        except OSError:
            pass


def _history(workdir):
    """Every worker launched here, oldest first."""
    try:
        with open(os.path.join(workdir, "run", "workers.jsonl")) as f:
            lines = f.read().splitlines()
    except OSError:
        return []
    out = []
    for line in lines:
        try:
            out.append(json.loads(line))
        except ValueError:
            continue   # a line cut by a crash: skip it
    return out


def _log_of(workdir, spec):
    """The log a tail or read asks for: a worker by pid (any worker launched here), else
    a slot's newest."""
    if spec.get("pid") is not None:
        pid = int(spec["pid"])
        found = [h for h in _history(workdir) if h.get("pid") == pid]
        return found[-1]["log"] if found else None
    slot = int(spec["slot"])
    rec = _read_json(_paths(workdir, slot)[0]) or {}
    return rec.get("log") or _paths(workdir, slot)[2]


def _read_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def _write_json(path, data):
    """Whole or not at all: a hidden name of its own, then a rename (the agent of
    another controller, or a supervisor, may write the same record at the same time)."""
    head, name = os.path.split(path)
    tmp = os.path.join(head, ".%s.%d-%s.tmp" % (name, os.getpid(), os.urandom(4).hex()))
    with open(tmp, "x") as f:   # "x": made here, by no other writer
        json.dump(data, f)
    os.replace(tmp, path)


_BOOT = []


def _boot_id():
    """Which boot of the machine this is: pids of an earlier boot name nobody of ours."""
    if not _BOOT:
        try:
            with open("/proc/sys/kernel/random/boot_id") as f:
                _BOOT.append(f.read().strip())
        except OSError:
            try:  # macOS
                _BOOT.append(subprocess.run(["sysctl", "-n", "kern.boottime"],
                                            capture_output=True, text=True,
                                            timeout=5).stdout.strip())
            except (OSError, subprocess.SubprocessError):
                _BOOT.append("")
    return _BOOT[0]


def _alive(pid):
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes (Linux: state Z in /proc).
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return True


def _tail(path, lines):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 4096 * max(1, lines // 20 + 1)))
            data = f.read()
    except OSError:
        return []
    text = data.decode("utf-8", "replace").splitlines()
    return text[-lines:] if lines > 0 else []


def _slots(workdir):
    try:
        names = os.listdir(os.path.join(workdir, "run"))
    except OSError:
        return []
    return sorted(int(n[:-5]) for n in names if n.endswith(".json") and n[:-5].isdigit())


def worker_record(workdir, slot, tail_lines=5):
    """One slot: its start record, whether it lives, and its exit record if any."""
    run_path, exit_path, log_path = _paths(workdir, slot)
    stop_path = run_path[:-5] + ".stop"
    rec = _read_json(run_path) or {}
    ex = _read_json(exit_path)
    if ex is not None and ex.get("started") != rec.get("started"):
        ex = None  # an exit record of an earlier run in this slot
    same_boot = rec.get("boot", "") == _boot_id()
    alive = same_boot and _alive(rec.get("pid"))
    stop_mark = _read_json(stop_path)
    if ex is not None and stop_mark is not None and stop_mark.get("started") == ex.get("started"):
        ex = dict(ex, stopped=True)
    log_path = rec.get("log") or log_path
    argv = rec.get("argv") or []
    puzzle = argv[argv.index("--puzzle") + 1] if "--puzzle" in argv[:-1] else None
    out = {"slot": slot, "pid": rec.get("pid"), "supervisor": rec.get("supervisor"),
           "pgid": rec.get("pgid"), "puzzle": puzzle,
           "started": rec.get("started"), "alive": alive, "log": log_path,
           "supervisor_alive": same_boot and _alive(rec.get("supervisor")), "exit": ex}
    if not alive:
        out["tail"] = _tail(log_path, tail_lines)
    return out


def _append_history(workdir, entry):
    """One line, one write, O_APPEND: concurrent launches never interleave a line."""
    line = (json.dumps(entry) + "\n").encode()
    fd = os.open(os.path.join(workdir, "run", "workers.jsonl"),
                 os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)
