"""The house rules, checked on the source: the faces pass through ``Storage``, imports only run
down the layers, no cycles, small modules, Flask only in the Flask face and the service."""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = {"shiftmedia": ROOT / "shiftmedia", "shiftmedia_webapp": ROOT / "webapp"}
MAX_LINES = 300

#: Each module's layer: a module imports only from lower layers, or from its own package.
LAYERS: dict[str, int] = {
    "shiftmedia.errors": 0,
    "shiftmedia.spec": 1,
    "shiftmedia.presets": 2,
    "shiftmedia.scheduler": 1,
    "shiftmedia.privacy": 1,
    "shiftmedia.engine": 2,
    "shiftmedia.signing": 2,
    "shiftmedia.ids": 2,
    "shiftmedia.settings": 3,
    "shiftmedia.delivery": 3,
    "shiftmedia.keys": 3,
    "shiftmedia.backends": 4,
    "shiftmedia.originals": 5,
    "shiftmedia.access": 5,
    "shiftmedia.lease": 5,
    "shiftmedia.migrate": 5,
    "shiftmedia.provision": 5,
    "shiftmedia.locations": 6,
    "shiftmedia.making": 6,
    "shiftmedia.inventory": 7,
    "shiftmedia.mediainfo": 7,
    "shiftmedia.answering": 8,
    "shiftmedia.storage": 9,
    "shiftmedia.commands": 10,
    "shiftmedia.warming": 10,
    "shiftmedia.flask": 11,
    "shiftmedia_webapp": 12,
    "shiftmedia.batch": 12,
    "shiftmedia.cli": 13,
    "shiftmedia.__main__": 14,
    "shiftmedia": 14,
}
#: The faces: they reach stored objects only through ``Storage``.
FACES = ("shiftmedia.flask", "shiftmedia.cli", "shiftmedia.commands", "shiftmedia.batch", "shiftmedia_webapp")
BEHIND_THE_DOOR = ("shiftmedia.backends", "shiftmedia.ids")


def modules() -> dict[str, Path]:
    found = {}
    for package, folder in PACKAGES.items():
        for path in sorted(folder.rglob("*.py")):
            parts = [package, *path.relative_to(folder).with_suffix("").parts]
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def imports(name: str, path: Path) -> Iterator[str]:
    """Every module ``name`` imports, anywhere in its body, as absolute names."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            yield from (f"{base}.{alias.name}" for alias in node.names)


def internal_graph() -> dict[str, set[str]]:
    """Module → the project modules it imports (a name imported from a module counts as that module)."""
    known = modules()

    def resolve(target: str) -> str | None:
        while target and target not in known:
            target = target.rpartition(".")[0]
        return target or None

    graph = {}
    for name, path in known.items():
        targets = {resolve(target) for target in imports(name, path)}
        graph[name] = {target for target in targets if target is not None and target != name}
    return graph


def group(name: str) -> str:
    return max((prefix for prefix in LAYERS if name == prefix or name.startswith(prefix + ".")), key=len)


def test_every_module_has_a_layer() -> None:
    assert [name for name in modules() if not any(name == p or name.startswith(p + ".") for p in LAYERS)] == []


def test_faces_never_step_around_storage() -> None:
    graph = internal_graph()
    crossings = [
        (face, target)
        for face, targets in graph.items()
        if face.startswith(FACES)
        for target in targets
        if target.startswith(BEHIND_THE_DOOR)
    ]
    assert crossings == []
    sources = [path.read_text() for name, path in modules().items() if name.startswith(FACES)]
    assert not [text for text in sources if "storage.backend" in text or ".backend." in text]


def test_imports_run_down_the_layers() -> None:
    upward = [
        (name, target)
        for name, targets in internal_graph().items()
        for target in targets
        if group(target) != group(name) and LAYERS[group(target)] >= LAYERS[group(name)]
    ]
    assert upward == []


def test_no_import_cycles() -> None:
    graph = internal_graph()
    state: dict[str, int] = {}
    cycles: list[list[str]] = []

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for target in sorted(graph[node]):
            if state.get(target) == 1:
                cycles.append([*trail[trail.index(target) :], target])
            elif target not in state:
                visit(target, [*trail, target])
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [node])
    assert cycles == []


@pytest.mark.parametrize("name", sorted(modules()))
def test_modules_are_small(name: str) -> None:
    assert len(modules()[name].read_text().splitlines()) <= MAX_LINES


def test_flask_only_in_the_flask_face_and_the_service() -> None:
    users = {
        name
        for name, path in modules().items()
        if any(target == "flask" or target.startswith("flask.") for target in imports(name, path))
    }
    assert {name for name in users if not name.startswith(("shiftmedia.flask", "shiftmedia_webapp"))} == set()


def test_library_imports_without_boto3_or_gunicorn() -> None:
    heavy = ("boto3", "botocore", "s3transfer", "gunicorn")
    eager = {
        name: sorted(target for target in imports(name, path) if target.split(".")[0] in heavy)
        for name, path in modules().items()
        if not name.startswith(
            ("shiftmedia.backends.s3", "shiftmedia_webapp.gunicorn_conf", "shiftmedia_webapp.worker")
        )
    }
    assert {name: found for name, found in eager.items() if found} == {}
