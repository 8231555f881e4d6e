"""Every Python sample in the docs runs here, so that a sample cannot rot.

The docs show Python only through ``literalinclude`` of files in ``docs/samples``.
A sample either defines ``async def main()``, which runs on Trio's MockClock with
autojump and must print exactly the sample's ``.out`` file (the docs show it as the
output), or defines ``test_*`` coroutine functions, which run here as pytest-trio
would run them, on the MockClock that their ``autojump_clock`` or ``mock_clock``
parameter requests. Each runs in a fresh working directory.
"""

from __future__ import annotations

import functools
import importlib.util
import inspect
import re
import sys
from pathlib import Path
from types import ModuleType

import pytest
import trio.testing

DOCS = Path(__file__).parent.parent / "docs"
SAMPLES = DOCS / "samples"
PAGES = sorted(DOCS.rglob("*.rst"))
SAMPLE_FILES = sorted(SAMPLES.glob("*.py"))

INCLUDE = re.compile(r"^\s*\.\. literalinclude::\s+(\S+)", re.MULTILINE)
INLINE_PYTHON = re.compile(
    r"^\s*\.\. (?:code-block|code|sourcecode|highlight)::\s*(?:python\d?|py|pycon)\s*$",
    re.MULTILINE,
)


# Found by reading the source, so that a broken sample fails its own test, not collection.
MAIN_FUNCTION = re.compile(r"^async def main\(\)", re.MULTILINE)
TEST_FUNCTION = re.compile(r"^async def (test_\w+)\(", re.MULTILINE)
MAIN_SAMPLES = [path for path in SAMPLE_FILES if MAIN_FUNCTION.search(path.read_text("utf-8"))]
TEST_SAMPLES = [
    (path, name) for path in SAMPLE_FILES for name in TEST_FUNCTION.findall(path.read_text("utf-8"))
]


def included_files() -> dict[Path, Path]:
    """Map each file that a page includes to the page that includes it."""
    included: dict[Path, Path] = {}
    for page in PAGES:
        for target in INCLUDE.findall(page.read_text(encoding="utf-8")):
            included[(page.parent / target).resolve()] = page
    return included


def load_sample(path: Path) -> ModuleType:
    """Import a sample file as a fresh module that is not left in sys.modules."""
    name = f"docs_sample_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    finally:
        del sys.modules[name]
    return module


def test_samples_exist() -> None:
    assert len(SAMPLE_FILES) > 0


def test_every_include_exists() -> None:
    missing = sorted(str(path) for path in included_files() if not path.is_file())
    assert missing == []


def test_every_sample_is_shown() -> None:
    included = included_files()
    shown_files = [*SAMPLE_FILES, *SAMPLES.glob("*.out")]
    unshown = sorted(path.name for path in shown_files if path.resolve() not in included)
    assert unshown == [], "sample files that no page includes"


def test_no_inline_python() -> None:
    inline = [str(page) for page in PAGES if INLINE_PYTHON.search(page.read_text("utf-8"))]
    assert inline == [], "put Python samples in docs/samples and literalinclude them"


def test_each_sample_has_main_or_tests() -> None:
    both_or_neither = [
        path.name
        for path in SAMPLE_FILES
        if (path in MAIN_SAMPLES) == any(sample == path for sample, _ in TEST_SAMPLES)
    ]
    assert both_or_neither == [], "a sample defines either main() or test_* functions"


def test_each_output_has_its_sample() -> None:
    orphans = [
        path.name for path in SAMPLES.glob("*.out") if path.with_suffix(".py") not in MAIN_SAMPLES
    ]
    assert orphans == []


@pytest.mark.parametrize("path", MAIN_SAMPLES, ids=[path.stem for path in MAIN_SAMPLES])
async def test_sample_prints_its_output(
    path: Path,
    autojump_clock: trio.testing.MockClock,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    await load_sample(path).main()

    expected = path.with_suffix(".out").read_text(encoding="utf-8")
    assert capsys.readouterr().out == expected


@pytest.mark.parametrize(
    ("path", "name"), TEST_SAMPLES, ids=[f"{path.stem}.{name}" for path, name in TEST_SAMPLES]
)
def test_sample_test_passes(
    path: Path, name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each sample test gets the clock that its fixture name requests, as with pytest-trio.
    monkeypatch.chdir(tmp_path)
    test = getattr(load_sample(path), name)
    assert inspect.iscoroutinefunction(test)
    parameters = inspect.signature(test).parameters
    clock = None
    if "autojump_clock" in parameters:
        clock = trio.testing.MockClock(autojump_threshold=0)
    elif "mock_clock" in parameters:
        clock = trio.testing.MockClock()
    fixtures = {"autojump_clock": clock, "mock_clock": clock, "tmp_path": tmp_path}
    arguments = {name: fixtures[name] for name in parameters}

    trio.run(functools.partial(test, **arguments), clock=clock)
