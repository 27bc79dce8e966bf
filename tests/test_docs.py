"""The docs match the code: the remedy guide's example runs, the architecture page's floor table is
the import check's, it describes every package and each of its modules and names only paths that
exist, and no link leaves the repository."""

import re
from pathlib import Path

import pytest
from threadpoolctl import threadpool_limits

REPO = Path(__file__).resolve().parents[1]
DOCS = REPO / "docs"
PACKAGE = REPO / "scarce"
FILE_SUFFIXES = (".md", ".py", ".yaml", ".yml", ".txt", ".toml", ".json", ".png")


def python_blocks(path: Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```$", path.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_writing_a_remedy_example_registers_a_new_remedy_and_runs_it():
    from scarce.remedies import REMEDIES

    blocks = python_blocks(DOCS / "writing_a_remedy.md")
    assert blocks, "docs/writing_a_remedy.md holds no python block"
    before = REMEDIES.names()
    namespace = {"__name__": "__writing_a_remedy__"}
    try:
        # one BLAS/OpenMP thread: spinning threads on a loaded 2-core machine slow training tenfold
        with threadpool_limits(limits=1):
            for i, code in enumerate(blocks):  # in order, in one namespace, as a reader would paste them
                exec(compile(code, f"docs/writing_a_remedy.md (python block {i})", "exec"), namespace)
        added = sorted(set(REMEDIES.names()) - set(before))
        assert len(added) == 1, f"the example must register exactly one new remedy, registered {added}"
        results = namespace["results"]
        rows = {r["remedy"] for r in results.records}
        assert added[0] in {name.split("(")[0] for name in rows}, f"the ablation has no row for {added[0]}: {rows}"
        assert any("+" in name and added[0] in name for name in rows), "the example's chain did not run"
    finally:
        for name in set(REMEDIES.names()) - set(before):
            REMEDIES.unregister(name)
    assert REMEDIES.names() == before


def test_registry_unregister_removes_a_plug_in_and_names_an_unknown_one():
    from scarce.registry import Registry

    reg = Registry("widget")
    reg.register("knob", lambda: "knob", help="turns")
    reg.unregister("knob")
    assert "knob" not in reg and reg.names() == []
    with pytest.raises(ValueError, match="Unknown widget 'knob'"):
        reg.unregister("knob")
    reg.register("knob", lambda: "again")  # the name is free again
    assert reg.create("knob") == "again"


def packages() -> list[str]:
    """Every package under scarce/ (a folder with __init__.py) as ``scarce/a/b/``."""
    return sorted(p.parent.relative_to(REPO).as_posix() + "/" for p in PACKAGE.rglob("__init__.py"))


def test_architecture_names_every_package():
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    missing = [p for p in packages() if f"`{p}`" not in text]
    assert not missing, f"docs/architecture.md does not name the package(s) {missing}"


def floor_table(text: str) -> dict[str, int]:
    """The architecture's floor table: the module or package each row names (``scarce/x/`` or
    ``scarce/x.py``, as ``x``) → its floor."""
    rows = re.findall(r"^\|\s*(\d+)\s*\|([^|]*)\|", text, flags=re.M)
    return {name: int(floor) for floor, cell in rows for name in re.findall(r"`scarce/(\w+)(?:/|\.py)`", cell)}


def test_the_floor_table_is_the_import_check():
    from test_imports import FLOORS

    table = floor_table((DOCS / "architecture.md").read_text(encoding="utf-8"))
    assert table == FLOORS, ("docs/architecture.md's floor table and FLOORS in tests/test_imports.py differ: "
                             f"{sorted(set(table.items()) ^ set(FLOORS.items()))}")
    top = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"} | {p.parent.name for p in
                                                                            PACKAGE.glob("*/__init__.py")}
    assert top <= set(FLOORS), f"modules or packages with no floor: {sorted(top - set(FLOORS))}"


def package_paragraph(text: str, package: str) -> str:
    """The paragraph of the architecture page that starts with the package's bold path."""
    found = re.search(rf"^\*\*`{re.escape(package)}`\*\*.*?(?=\n\n)", text, flags=re.M | re.S)
    return found.group(0) if found else ""


@pytest.mark.parametrize("package", [p for p in packages() if p != "scarce/"])  # top-level modules: the table
def test_every_package_has_a_paragraph_naming_each_of_its_modules(package):
    paragraph = package_paragraph((DOCS / "architecture.md").read_text(encoding="utf-8"), package)
    assert paragraph, f"docs/architecture.md has no paragraph starting with **`{package}`**"
    modules = sorted(p.name for p in (REPO / package).glob("*.py") if p.stem not in ("__init__", "__main__"))
    missing = [m for m in modules if f"`{m}`" not in paragraph]
    assert not missing, f"the paragraph on {package} in docs/architecture.md does not name {missing}"


def test_every_path_the_architecture_names_exists():
    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    named = set(re.findall(r"\bscarce/[\w/]*\w(?:\.py|/)", text))
    assert len(named) > 10
    gone = sorted(p for p in named if not (REPO / p).exists() or (p.endswith("/") and not (REPO / p).is_dir()))
    assert not gone, f"docs/architecture.md names paths that do not exist: {gone}"


def test_architecture_names_every_dataset():
    from scarce.data.loaders import DATASETS

    text = (DOCS / "architecture.md").read_text(encoding="utf-8")
    missing = [name for name in DATASETS.names() if f"`{name}`" not in text]
    assert not missing, f"docs/architecture.md does not name the dataset(s) {missing}"


def outside(base: Path, target: str) -> bool:
    """Whether ``target``, read relative to the folder ``base``, is a file:// URL, an absolute path
    or a relative path that resolves outside the repository."""
    if target.startswith("file:"):
        return True
    if re.match(r"^[a-z][a-z0-9+.-]*:", target) or target.startswith("#"):  # http:, mailto:, an anchor
        return False
    path = target.split("#")[0]
    if path.startswith("/") or re.match(r"^[A-Za-z]:[\\/]", path):
        return True
    resolved = (base / path).resolve()
    return resolved != REPO and REPO not in resolved.parents


def links(text: str) -> list[str]:
    """Markdown link and image targets, inline and reference-style (relative to the document)."""
    found = re.findall(r"\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)", text)
    return found + re.findall(r"^\s*\[[^\]]+\]:\s*(\S+)", text, flags=re.M)


def file_spans(text: str) -> list[str]:
    """Code spans naming a file by a path that starts with ../, / or file: (read from the
    repository root, where the docs' commands run)."""
    return [s for s in re.findall(r"`([^`\s]+)`", text)
            if s.startswith(("../", "/", "file:")) and s.lower().endswith(FILE_SUFFIXES)]


def test_no_doc_links_outside_the_repository():
    bad, broken = [], []
    for doc in sorted(DOCS.rglob("*.md")):
        text = doc.read_text(encoding="utf-8")
        for target in links(text):
            if outside(doc.parent, target):
                bad.append(f"{doc.relative_to(REPO)} → {target}")
            elif not re.match(r"^[a-z][a-z0-9+.-]*:|#", target) and not (doc.parent / target.split("#")[0]).exists():
                broken.append(f"{doc.relative_to(REPO)} → {target}")
        bad += [f"{doc.relative_to(REPO)} → `{t}`" for t in file_spans(text) if outside(REPO, t)]
    assert not bad, f"references that leave the repository: {bad}"
    assert not broken, f"links to files that do not exist: {broken}"


def test_the_link_check_catches_each_kind():
    doc = DOCS / "x.md"
    text = ("[a](../../elsewhere.md) [b](file:///etc/passwd) [c](/abs/path.md) ![d](results/x.png) "
            "[e](https://example.org) [f](#anchor) see `../shared/GUIDE.md` and `../shared/data`\n[g]: ../../out.md")
    assert [t for t in links(text) if outside(doc.parent, t)] == ["../../elsewhere.md", "file:///etc/passwd",
                                                                  "/abs/path.md", "../../out.md"]
    assert [t for t in file_spans(text) if outside(REPO, t)] == ["../shared/GUIDE.md"]
