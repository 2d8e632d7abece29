"""Every benchmark the docs name exists, and the benchmarks import each other as a package.

The docs run benchmarks as modules from the repository root (``python -m benchmarks.speed.bench``)
and mention them by path (``benchmarks/experiments/map_finish.py``, ``bash benchmarks/speed/gpu.sh``);
both forms must name a file that is there. docs/history/ keeps the paths of its day and is not read.
"""
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DOCS = sorted((ROOT / "docs").glob("*.md")) + [ROOT / "README.md"]
# the scripts' own usage lines and comments (``python -m benchmarks.speed.gpu`` in gpu.sh)
SCRIPTS = sorted(p for p in (ROOT / "benchmarks").rglob("*") if p.suffix in (".py", ".sh"))
PATH = re.compile(r"(?<![\w/.])benchmarks/[\w/]+\.(?:py|sh)\b")
MODULE = re.compile(r"-m\s+(benchmarks(?:\.\w+)+)(?![\w<]|\.[\w<])")  # not a placeholder (benchmarks.speed.<name>)


def named(text: str) -> set[str]:
    """The benchmark files ``text`` names: paths as written, modules as their file paths."""
    return set(PATH.findall(text)) | {m.replace(".", "/") + ".py" for m in MODULE.findall(text)}


def missing(text: str) -> list[str]:
    return sorted(p for p in named(text) if not (ROOT / p).is_file())


def test_every_benchmark_the_docs_name_exists():
    found = {}
    for doc in DOCS:
        for p in missing(doc.read_text()):
            found.setdefault(str(doc.relative_to(ROOT)), []).append(p)
    assert not found, f"docs name benchmark files that are not there: {found}"
    assert any(named(doc.read_text()) for doc in DOCS)  # the pattern still matches what the docs write


def test_every_benchmark_the_scripts_name_exists():
    found = {str(p.relative_to(ROOT)): missing(p.read_text()) for p in SCRIPTS}
    assert not {k: v for k, v in found.items() if v}, found


def test_a_missing_benchmark_is_caught():
    text = ("`python -m benchmarks.speed.bench --quick`, `benchmarks/experiments/map_finish.py`,\n"
            "`python -m benchmarks.speed.no_such_bench`, (`benchmarks/no_such_dir/x.py --flag`), "
            "`bash benchmarks/gpu.sh`")
    assert missing(text) == ["benchmarks/gpu.sh", "benchmarks/no_such_dir/x.py", "benchmarks/speed/no_such_bench.py"]


def test_benchmarks_edit_no_import_path_and_use_no_private_jax():
    bad = re.compile(r"sys\.path\s*(?:\.\s*(?:insert|append)|\[.*\]\s*=)|(?:from|import)\s+jax\._src")
    hits = [f"{p.relative_to(ROOT)}:{i}" for p in sorted((ROOT / "benchmarks").rglob("*.py"))
            for i, line in enumerate(p.read_text().splitlines(), 1) if bad.search(line)]
    hits += [f"{p.relative_to(ROOT)}" for p in sorted((ROOT / "benchmarks").rglob("*.sh"))
             if bad.search(p.read_text())]
    assert not hits, hits
