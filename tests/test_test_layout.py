"""The tests' own layout (issue 14 item 6): fixtures reach the tests through
``pytest_plugins`` in tests/conftest.py, and no test module imports another one.

Read with ``ast``, nothing imported: a test module may import plain helpers from
tests/support/, but never a test module, a conftest, or a fixture (a fixture imported by
name shadows the one pytest passes in, which is what the old ``# noqa: F811`` hid).
"""
from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

TESTS = Path(__file__).resolve().parent
SUPPORT = TESTS / "support"


def all_test_modules():
    return sorted(TESTS.rglob("test_*.py"))


def imported_modules(tree: ast.Module):
    """(line, dotted module name, names taken from it) of every import, nested ones too."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name, []
        elif isinstance(node, ast.ImportFrom):
            module = "." * node.level + (node.module or "")
            yield node.lineno, module, [alias.name for alias in node.names]


def is_fixture(node) -> bool:
    """``@pytest.fixture`` or ``@pytest.fixture(...)`` (also imported as ``fixture``)."""
    for decorator in getattr(node, "decorator_list", []):
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name == "fixture":
            return True
    return False


def fixtures_in(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), str(path))
    return {node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and is_fixture(node)}


def support_fixtures() -> dict[str, set[str]]:
    """{``support.x``: its fixtures} for every support module that defines some."""
    found = {f"support.{path.stem}": fixtures_in(path) for path in SUPPORT.glob("*.py")}
    return {module: names for module, names in found.items() if names}


def pytest_plugins_of(conftest: Path) -> list[str]:
    for node in ast.parse(conftest.read_text()).body:
        if isinstance(node, ast.Assign) and any(
                getattr(target, "id", "") == "pytest_plugins" for target in node.targets):
            return ast.literal_eval(node.value)
    return []


def layout_problems(path: Path, fixtures: set[str], root: Path = TESTS) -> list[str]:
    """What is wrong with one test module's imports."""
    source = path.read_text()
    where = path.relative_to(root)
    problems = []
    for line, module, names in imported_modules(ast.parse(source, str(path))):
        parts = module.split(".")
        if module.startswith("."):
            problems.append(f"{where}:{line}: relative import {module!r}")
        elif parts[0] == "tests" or any(part.startswith("test_") for part in parts) \
                or "conftest" in parts:
            problems.append(f"{where}:{line}: imports {module!r}, a test module or a conftest")
        for name in sorted(fixtures.intersection(names)):
            problems.append(f"{where}:{line}: imports the fixture {name!r} from {module!r}: "
                            "name it as an argument (pytest_plugins brings it)")
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT and "noqa" in token.string and "F811" in token.string:
            problems.append(f"{where}:{token.start[0]}: '# noqa: F811' (a fixture re-import "
                            "hidden from the linter)")
    return problems


def test_no_test_module_imports_another_or_a_fixture():
    fixtures = set().union(*support_fixtures().values(), fixtures_in(TESTS / "conftest.py"))
    problems = [p for path in all_test_modules() for p in layout_problems(path, fixtures)]
    assert all_test_modules() and not problems, "\n".join(problems)


def test_every_support_module_with_fixtures_is_a_plugin():
    plugins = pytest_plugins_of(TESTS / "conftest.py")
    missing = sorted(set(support_fixtures()) - set(plugins))
    assert support_fixtures() and not missing, \
        f"add {missing} to pytest_plugins in tests/conftest.py"


def test_the_checks_catch_what_they_forbid(tmp_path):
    """The checks themselves: each forbidden import is reported, a helper import is not."""
    module = tmp_path / "test_example.py"
    module.write_text("from test_other import helper\n"
                      "from conftest import AuthActions\n"
                      "from . import sibling\n"
                      "from support.api import smtp_server, call\n"
                      "def test_x(smtp_server):  # noqa: F811\n"
                      "    from tests.test_api import x\n")
    problems = layout_problems(module, {"smtp_server"}, root=tmp_path)
    assert problems == [
        "test_example.py:1: imports 'test_other', a test module or a conftest",
        "test_example.py:2: imports 'conftest', a test module or a conftest",
        "test_example.py:3: relative import '.'",
        "test_example.py:4: imports the fixture 'smtp_server' from 'support.api': name it as "
        "an argument (pytest_plugins brings it)",
        "test_example.py:6: imports 'tests.test_api', a test module or a conftest",
        "test_example.py:5: '# noqa: F811' (a fixture re-import hidden from the linter)"]
