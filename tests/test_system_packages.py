"""scripts/system-packages: ``make demo`` and ``make test`` install WeasyPrint's Pango and
the documents' fonts with apt when they are missing, or say in one line what to install.

The machine has them, so the missing case runs the real script with stand-ins for the
system's probes and for apt-get (installing from the network is outside this machine):
a PATH holding only bash, grep, ls and small scripts named ldconfig, fc-list, id, apt-get.
"""
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "system-packages"
PDF_PACKAGES = ["libpango-1.0-0", "libpangoft2-1.0-0", "fonts-liberation",
                "fonts-dejavu-core"]


def stub(folder: Path, name: str, body: str) -> None:
    path = folder / name
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o755)


@pytest.fixture
def bare(tmp_path):
    """A PATH where Pango and the fonts are missing; returns (folder, run)."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for tool in ("bash", "grep", "ls", "cat"):
        os.symlink(shutil.which(tool), folder / tool)
    stub(folder, "ldconfig", "echo '1 libs found in cache'")
    stub(folder, "fc-list", "echo 'Noto Sans'")  # fontconfig without the two fonts

    def run(*args):
        return subprocess.run([shutil.which("bash"), str(SCRIPT), *args],
                              env={"PATH": str(folder)}, capture_output=True, text=True,
                              timeout=60)

    return folder, run


def test_this_machine_has_them_so_nothing_is_installed():
    result = subprocess.run([str(SCRIPT), "pdf"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout == result.stderr == ""


def test_as_root_with_apt_the_missing_pdf_packages_are_installed(bare, tmp_path):
    folder, run = bare
    log = tmp_path / "apt.log"
    stub(folder, "id", "echo 0")
    stub(folder, "apt-get", f'echo "$@" >> {log}')
    result = run("pdf")
    assert result.returncode == 0, result.stderr
    calls = log.read_text().splitlines()
    assert calls[0] == "update -qq"
    assert calls[1].startswith("install -y -qq ") and calls[1].split()[3:] == PDF_PACKAGES


def test_without_root_it_names_the_apt_command_in_one_line(bare):
    folder, run = bare
    stub(folder, "id", "echo 1000")
    stub(folder, "apt-get", "exit 99")
    result = run("pdf")
    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        f"Missing system packages: {' '.join(PDF_PACKAGES)}; install them with: "
        f"sudo apt-get install -y {' '.join(PDF_PACKAGES)}"]


def test_without_apt_it_says_what_to_install_and_the_demo_goes_on(bare):
    folder, run = bare
    stub(folder, "id", "echo 1000")
    refused = run("pdf")
    assert refused.returncode == 1 and len(refused.stderr.splitlines()) == 1
    assert "Pango" in refused.stderr and "brew install pango" in refused.stderr
    demo = run("--warn", "pdf")  # make demo: the demo runs, PDFs fail until installed
    assert demo.returncode == 0 and "PDF downloads fail" in demo.stderr


def test_present_libraries_and_fonts_are_left_alone(bare, tmp_path):
    folder, run = bare
    stub(folder, "ldconfig", "echo 'libpango-1.0.so.0 => /x'; echo 'libpangoft2-1.0.so.0 => /x'")
    stub(folder, "fc-list", "echo 'Liberation Sans'; echo 'DejaVu Sans'")
    stub(folder, "id", "echo 0")
    stub(folder, "apt-get", f"touch {tmp_path}/called")
    assert run("pdf").returncode == 0 and not (tmp_path / "called").exists()


def test_make_demo_and_scripts_test_run_it():
    assert "scripts/system-packages --warn pdf" in (ROOT / "Makefile").read_text()
    assert "scripts/system-packages pdf test" in (ROOT / "scripts" / "test").read_text()


def test_bench_installs_wrk_when_it_is_missing(bare, tmp_path):
    """make benchmark's throughput runs need wrk (issue #20): the bench group installs it."""
    folder, run = bare
    log = tmp_path / "apt.log"
    stub(folder, "id", "echo 0")
    stub(folder, "apt-get", f'echo "$@" >> {log}')
    result = run("bench")  # the stand-in PATH has no wrk
    assert result.returncode == 0, result.stderr
    installed = log.read_text().splitlines()[1].split()[3:]
    assert "wrk" in installed and not set(PDF_PACKAGES) & set(installed)


def test_make_benchmark_installs_its_packages_first():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\nbenchmark:", 1)[1].split("\n\n", 1)[0]
    assert "scripts/system-packages pdf bench" in recipe
    assert recipe.index("system-packages") < recipe.index("benchmarks/run")
