"""Why a node's host key was refused, in words an operator can act on: a key never seen
(the one line to run if this is the right machine) or a key that changed (a loud warning,
and no fix offered: that is for whoever runs the machine to explain)."""
from __future__ import annotations

import os

from jstui.config import NodeConfig

USER_KNOWN_HOSTS = "~/.ssh/known_hosts"


def endpoint(address: str, port: int) -> str:
    """`host:port`, with an IPv6 address in brackets."""
    return f"[{address}]:{port}" if ":" in address else f"{address}:{port}"


def known_hosts_file(node: NodeConfig) -> str:
    """The file the node's host key is checked against."""
    return node.known_hosts or USER_KNOWN_HOSTS


def recorded_keys(path: str, address: str, port: int) -> list:
    """The keys known_hosts holds for this address and port (asyncssh's own matching,
    hashed names included); none when the file is missing or unreadable."""
    import asyncssh

    try:
        known = asyncssh.read_known_hosts(os.path.expanduser(path))
    except (OSError, ValueError, asyncssh.Error):
        return []
    host_keys, ca_keys, *_ = known.match(address, address, port)
    return [*host_keys, *ca_keys]


def refused_host_key(node: NodeConfig, address: str) -> str:
    """One sentence on a refused host key: unknown (with the fix) or changed (a warning)."""
    path = known_hosts_file(node)
    where = endpoint(address, node.port)
    if recorded_keys(path, address, node.port):
        return (f"WARNING: HOST KEY CHANGED for {where}: it offers a key other than the one "
                f"recorded in {path}. Someone may be intercepting the connection, or the "
                f"machine was reinstalled; jstui refuses to connect until whoever runs it "
                f"says which")
    return (f"unknown host key for {where} (not in {path}); if this is the right machine, "
            f"record its key: {keyscan_command(path, address, node.port)}")


def keyscan_command(path: str, address: str, port: int) -> str:
    """The line that records the key, as a shell runs it: the file's directory is made
    first where it does not exist yet (a fresh account has no ~/.ssh)."""
    import shlex

    home = path.startswith("~/")    # left unquoted: the shell expands it
    shown = path if home else shlex.quote(path)
    directory = os.path.dirname(path)
    mkdir = ""
    if not os.path.isdir(os.path.expanduser(directory or ".")):
        mkdir = f"mkdir -p -m 700 {directory if home else shlex.quote(directory)} && "
    return f"{mkdir}ssh-keyscan -p {port} {shlex.quote(address)} >> {shown}"


def known_hosts_option(node: NodeConfig):
    """asyncssh's known_hosts: None (no checking), the node's file, or () for the
    user's own. A file named but not there yet knows no host: the key is refused as
    unknown, with the line that records it, rather than failing on the missing file."""
    import asyncssh

    if not node.host_key_check:
        return None
    if not node.known_hosts:
        return ()
    if not os.path.exists(os.path.expanduser(node.known_hosts)):
        return asyncssh.import_known_hosts("")
    return node.known_hosts
