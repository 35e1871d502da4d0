"""The node-side helper, run by the node's own Python (stdlib only, Linux and macOS):
starts workers fully detached under a small supervisor, stops them, reports them.

Deployed as WORKDIR/lib/jstui_agent.py and called as
`PYTHON WORKDIR/lib/jstui_agent.py WORKDIR COMMAND [JSON | -]` (`-`: the JSON on stdin);
it prints one JSON document.
Layout: WORKDIR/run/SLOT.json (the slot's newest worker: pids, start, log),
WORKDIR/run/SLOT.exit (its exit record), WORKDIR/run/workers.jsonl (every worker ever
launched here: slot, pid, start, log), WORKDIR/logs/SLOT-STAMP-PID.log (one worker's
stdout and stderr; the newest KEEP_LOGS of a slot are kept), WORKDIR/logs/SLOT.log (a
link to the slot's newest log), WORKDIR/puzzles/FINGERPRINT.npz (deployed puzzles).
"""
from __future__ import annotations

import json
import os
import platform
import signal
import socket
import subprocess
import sys
import time

try:   # deployed: lib/agent_records.py beside this file (its folder is on sys.path)
    from agent_records import (_alive, _append_history, _boot_id, _link_newest, _log_of,
                               _paths, _prune_logs, _slots, _tail, _worker_log, _write_json,
                               worker_record)
except ImportError:   # imported as part of the jstui package (tests)
    from jstui.fleet.agent_records import (_alive, _append_history, _boot_id, _link_newest,
                                           _log_of, _paths, _prune_logs, _slots, _tail,
                                           _worker_log, _write_json, worker_record)



def facts():
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    total = avail = 0
    try:
        with open("/proc/meminfo") as f:
            info = dict(line.split(":", 1) for line in f if ":" in line)
        total = int(info["MemTotal"].split()[0]) * 1024
        avail = int(info.get("MemAvailable", "0 kB").split()[0]) * 1024
    except (OSError, KeyError, ValueError):
        try:  # macOS
            total = int(subprocess.run(["sysctl", "-n", "hw.memsize"], capture_output=True,
                                       text=True, timeout=5).stdout.strip() or 0)
        except (OSError, ValueError, subprocess.SubprocessError):
            pass
    return {"hostname": socket.gethostname(), "os": platform.system(),
            "cpus": os.cpu_count() or 0, "load": list(load),
            "mem_total": total, "mem_available": avail}


def status(workdir, tail_lines=5):
    try:
        puzzles = sorted(n for n in os.listdir(os.path.join(workdir, "puzzles"))
                         if n.endswith(".npz"))
    except OSError:
        puzzles = []
    return {"facts": facts(), "puzzles": puzzles,
            "workers": [worker_record(workdir, s, tail_lines) for s in _slots(workdir)]}


def _redirect_into(log_path):
    """stdin from /dev/null; stdout and stderr appended to the worker's log."""
    null = os.open(os.devnull, os.O_RDONLY)
    log = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(null, 0)
    os.dup2(log, 1)
    os.dup2(log, 2)
    os.close(null)
    os.close(log)


def _supervise(workdir, slot, spec, report_fd):
    """In the detached grandchild: run the worker, keep its pid and exit status."""
    run_path, exit_path, _ = _paths(workdir, slot)
    started = time.time()
    log_path = _worker_log(workdir, slot, started)
    _redirect_into(log_path)
    os.chdir(workdir)
    stopping = []

    def on_signal(signum, frame):
        # stop signals the whole process group: the worker has it already.
        stopping.append(signum)

    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, on_signal)
    try:
        os.nice(int(spec.get("nice", 0)))
    except OSError:
        pass
    env = dict(os.environ)
    env.update(spec.get("env", {}))
    record = {"slot": slot, "supervisor": os.getpid(), "pgid": os.getpgrp(),
              "started": started, "boot": _boot_id(), "log": log_path,
              "argv": spec["argv"]}
    _link_newest(workdir, slot, log_path)
    try:
        child = subprocess.Popen(spec["argv"], env=env, cwd=workdir, close_fds=True)
    except OSError as e:
        record.update(pid=None, error=str(e))
        _write_json(run_path, record)
        _write_json(exit_path, {"code": 127, "ended": time.time(), "started": started,
                                "stopped": False, "error": str(e)})
        os.write(report_fd, json.dumps(record).encode())
        os.close(report_fd)
        sys.stderr.write("[jstui] cannot start worker: %s\n" % e)
        os._exit(0)
    record["pid"] = child.pid
    _write_json(run_path, record)
    _append_history(workdir, {"slot": slot, "pid": child.pid, "started": started,
                              "log": log_path})
    os.write(report_fd, json.dumps(record).encode())
    os.close(report_fd)
    while True:
        try:
            code = child.wait()
            break
        except InterruptedError:
            continue
    # The log line first: whoever sees the exit record must find it in the log tail.
    sys.stderr.write("[jstui %s] worker pid %d exited with status %d\n"
                     % (time.strftime("%Y-%m-%d %H:%M:%S"), child.pid, code))
    sys.stderr.flush()
    _write_json(exit_path, {"code": code, "ended": time.time(), "started": started,
                            "stopped": bool(stopping)})
    os._exit(0)


def launch_one(workdir, slot, spec):
    """Fork twice so the supervisor belongs to no SSH session; wait for its pids."""
    current = worker_record(workdir, slot, 0)
    if current["alive"]:
        return dict(current, skipped="already running")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.close(read_fd)
            os.setsid()
            if os.fork() > 0:
                os._exit(0)
            _supervise(workdir, slot, spec, write_fd)
        finally:
            os._exit(1)
    os.close(write_fd)
    os.waitpid(pid, 0)
    chunks = []
    while True:
        chunk = os.read(read_fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(read_fd)
    try:
        return json.loads(b"".join(chunks).decode())
    except ValueError:
        return {"slot": slot, "error": "supervisor did not report"}


def launch(workdir, spec):
    for sub in ("run", "logs"):
        os.makedirs(os.path.join(workdir, sub), exist_ok=True)
    for slot in spec["slots"]:
        _prune_logs(workdir, slot)
    return {"launched": [launch_one(workdir, s, spec) for s in spec["slots"]]}


def stop(workdir, spec):
    """SIGTERM each slot's process group, SIGKILL what is left after the grace."""
    slots = spec.get("slots") or _slots(workdir)
    grace = float(spec.get("grace", 5.0))
    targets = {}
    for slot in slots:
        rec = worker_record(workdir, slot, 0)
        if rec["alive"] or rec["supervisor_alive"]:
            targets[slot] = rec
            # Marked first, so the exit reads "stopped" even if the supervisor misses it.
            _write_json(_paths(workdir, slot)[0][:-5] + ".stop", {"started": rec["started"]})
            _signal(rec, signal.SIGTERM)
    deadline = time.time() + grace
    while time.time() < deadline and any(_alive(r["pid"]) or _alive(r["supervisor"])
                                         for r in targets.values()):
        time.sleep(0.05)
    killed = []
    for slot, rec in targets.items():
        if _alive(rec["pid"]) or _alive(rec["supervisor"]):
            killed.append(slot)
            _signal(rec, signal.SIGKILL)
            _write_json(_paths(workdir, slot)[1],
                        {"code": -9, "ended": time.time(), "started": rec["started"],
                         "stopped": True})
    return {"stopped": sorted(targets), "killed": killed}


def _signal(rec, sig):
    # The supervisor leads its own session and process group: signal the group once so
    # the worker (and its children) get it once; the bare pid if the group is gone.
    if _alive(rec["supervisor"]) and rec.get("pgid"):
        try:
            os.killpg(rec["pgid"], sig)
            return
        except OSError:
            pass
    if rec["pid"]:
        try:
            os.kill(rec["pid"], sig)
        except OSError:
            pass


def tail(workdir, spec):
    """The last lines of one worker's log: by pid, or a slot's newest worker."""
    path = _log_of(workdir, spec)
    try:
        size = os.path.getsize(path) if path else 0
    except OSError:
        size = 0
    slots = _slots(workdir)
    # "exists": a worker never launched has no log to show, which is not an empty log.
    known = path is not None and (spec.get("pid") is not None or int(spec["slot"]) in slots
                                  or os.path.exists(path))
    return {"lines": _tail(path, int(spec.get("lines", 100))) if path else [], "size": size,
            "exists": known, "slots": slots, "log": path}


def read(workdir, spec):
    """The log from byte `offset` on (64 KiB at most); from 0 if the log was cut."""
    path = _log_of(workdir, spec)
    if path is None:
        return {"text": "", "offset": 0}
    offset = int(spec.get("offset", 0))
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if offset > size:
                offset = 0
            f.seek(offset)
            data = f.read(65536)
    except OSError:
        return {"text": "", "offset": 0}
    # Only whole lines, so a follower never prints half a line twice.
    cut = len(data)
    if not data.endswith(b"\n"):
        last = data.rfind(b"\n")
        # a line longer than the whole chunk is passed on in pieces
        cut = last + 1 if last >= 0 else (len(data) if len(data) == 65536 else 0)
    return {"text": data[:cut].decode("utf-8", "replace"), "offset": offset + cut}


def dispatch(workdir, command, spec):
    if command == "status":
        return status(workdir, int(spec.get("tail", 5)))
    if command == "launch":
        return launch(workdir, spec)
    if command == "stop":
        return stop(workdir, spec)
    if command == "tail":
        return tail(workdir, spec)
    if command == "read":
        return read(workdir, spec)
    if command == "facts":
        return facts()
    raise ValueError("unknown command %r" % command)


def serve(workdir):
    """One JSON request per line on stdin, one JSON answer per line on stdout, until
    stdin closes (the SSH session ends): status without starting Python each time."""
    sys.stdout.write(json.dumps({"ready": os.getpid()}) + "\n")
    sys.stdout.flush()
    for line in sys.stdin:
        try:
            request = json.loads(line)
            answer = {"ok": dispatch(workdir, request["command"], request.get("spec") or {})}
        except Exception as e:  # answer, and stay up for the next request
            answer = {"error": "%s: %s" % (type(e).__name__, e)}
        sys.stdout.write(json.dumps(answer) + "\n")
        sys.stdout.flush()
    return 0


def main(argv):
    workdir, command = argv[0], argv[1]
    if command == "serve":
        return serve(workdir)
    spec = {}
    if len(argv) > 2:
        spec = json.loads(sys.stdin.read() if argv[2] == "-" else argv[2])
    try:
        out = dispatch(workdir, command, spec)
    except ValueError as e:
        sys.stderr.write("%s\n" % e)
        return 2
    sys.stdout.write(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
