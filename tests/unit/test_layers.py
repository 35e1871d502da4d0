"""The import layers of docs/architecture.md, enforced: a module imports only from its own
group or from a layer below (lazy imports inside functions included), and no two
modules import each other, directly or round about."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# From the bottom up; a group is a module or a folder (its prefix). Command lines sit on
# top of what they drive.
LAYERS: list[set[str]] = [
    {"solver.atomic"},
    {"solver.puzzle"},
    {"solver.search"},
    {"solver.generate", "solver.pool"},
    {"solver.worker", "solver.tools"},
    {"solver.pool.cli", "solver.generate.cli", "solver.worker.main"},
    {"solver.cli", "solver.tools.cli"},
    {"solver.__main__", "solver.worker.__main__"},
    {"jstui.textfit", "jstui.shell", "jstui.present", "jstui.config", "jstui.actions",
     "jstui.puzzles", "jstui.connection"},
    {"jstui.fleet", "jstui.snapshot"},
    {"jstui.plan", "jstui.book", "jstui.assemble"},
    {"jstui.recorder", "jstui.observing", "jstui.backend"},
    {"jstui.live", "jstui.widgets"},
    {"jstui.operator"},
    {"jstui.screen"},
    {"jstui.app"},
    {"jstui.replay"},
    {"jstui.session", "jstui.fleet.cli"},
    {"jstui.serve", "jstui.replay.cli", "jstui.fleet.__main__"},
    {"jstui.__main__"},
]


def modules() -> dict[str, Path]:
    found = {}
    for path in [*ROOT.glob("solver/**/*.py"), *ROOT.glob("jstui/**/*.py")]:
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def group_of(module: str) -> tuple[int, str]:
    """(layer, group): the longest group name the module falls under."""
    best = None
    for layer, groups in enumerate(LAYERS):
        for group in groups:
            if module == group or module.startswith(group + "."):
                if best is None or len(group) > len(best[1]):
                    best = (layer, group)
    return best if best is not None else (-1, module)


def imports_of(module: str, path: Path, known: dict) -> list[tuple[str, bool]]:
    """(imported module of ours, at module level?) for every import in the file."""
    tree = ast.parse(path.read_text())
    top = {id(node) for node in tree.body}
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    out = []
    for node in ast.walk(tree):
        names = []
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[:len(package.split(".")) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base
                     for a in node.names]
        for name in names:
            while name not in known and "." in name:
                name = name.rpartition(".")[0]
            if name in known and name != module and name.split(".")[0] in ("solver", "jstui"):
                out.append((name, id(node) in top))
    return out


def test_every_module_is_in_a_layer():
    assert [m for m in modules() if group_of(m)[0] < 0 and m not in ("solver", "jstui")] == []


def test_no_module_imports_upward_or_across_a_layer():
    known = modules()
    wrong = []
    for module, path in known.items():
        if module in ("solver", "jstui"):
            continue
        layer, group = group_of(module)
        for target, _ in imports_of(module, path, known):
            if target in ("solver", "jstui"):
                continue
            t_layer, t_group = group_of(target)
            if t_layer > layer or (t_layer == layer and t_group != group):
                wrong.append(f"{module} -> {target}")
    assert wrong == []


def test_no_import_circle_between_modules():
    known = modules()
    edges = {m: {t for t, _ in imports_of(m, p, known)} for m, p in known.items()}
    circles = []
    state: dict[str, int] = {}

    def visit(m, trail):
        state[m] = 1
        for t in sorted(edges.get(m, ())):
            if t == m or t in ("solver", "jstui"):
                continue
            if state.get(t) == 1:
                circles.append(trail[trail.index(t):] + [t] if t in trail else [m, t])
            elif t not in state:
                visit(t, trail + [t])
        state[m] = 2

    for m in sorted(known):
        if m not in state:
            visit(m, [m])
    assert circles == []
