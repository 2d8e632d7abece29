"""The package's modules and functions stay a size a reader takes in (issue 38)."""
import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[1] / "jaxstyle"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 60


def _modules():
    return sorted(PKG.rglob("*.py"))


def test_no_module_over_500_lines():
    long = {str(p.relative_to(PKG)): n for p in _modules() if (n := p.read_text().count("\n")) > MAX_MODULE_LINES}
    assert not long, long


def test_no_function_over_60_lines():
    long = [f"{p.relative_to(PKG)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
            for p in _modules() for node in ast.walk(ast.parse(p.read_text()))
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef))
            and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES]
    assert not long, long
