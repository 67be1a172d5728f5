"""docs/going-live.md stays true: every `portal` command it shows exists with the options
it uses, every test it names as proof of a path exists, and every doc it links to."""
import re
import shlex
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
GUIDE = ROOT / "docs" / "going-live.md"


def commands():
    """Each `portal ...` line of the guide's shell blocks, as arguments (comments cut)."""
    text = GUIDE.read_text(encoding="utf-8")
    found = []
    for block in re.findall(r"```sh\n(.*?)```", text, re.S):
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("portal "):
                found.append(shlex.split(line)[1:])
    return found


def test_the_guide_shows_commands():
    assert len(commands()) >= 6


@pytest.mark.parametrize("args", commands(), ids=lambda a: " ".join(a[:2]))
def test_every_command_of_the_guide_exists_with_its_options(runner, args):
    """The command answers --help, and every --option the guide passes is one it takes."""
    words = [a for a in args if not a.startswith("-")]
    path = words[:2] if words[:1] not in (["init"],) else words[:1]
    result = runner.invoke(args=[*path, "--help"])
    assert result.exit_code == 0, f"portal {' '.join(path)}: {result.output}"
    for option in (a.split("=", 1)[0] for a in args if a.startswith("--")):
        assert option in result.output, f"portal {' '.join(path)} has no {option}"


def test_the_tests_and_docs_it_names_exist():
    text = GUIDE.read_text(encoding="utf-8")
    named = re.findall(r"`(tests/[\w/]+\.py)`", text)
    assert len(named) >= 5
    for path in named:
        assert (ROOT / path).is_file(), path
    for link in re.findall(r"\]\(([\w.-]+\.(?:md|toml|csv))\)", text):
        assert (GUIDE.parent / link).is_file(), link
