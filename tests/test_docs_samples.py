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
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest
import trio.testing

DOCS = Path(__file__).parent.parent / "docs"
SAMPLES = DOCS / "samples"
PAGES = sorted(DOCS.rglob("*.rst"))
SAMPLE_FILES = sorted(SAMPLES.glob("*.py"))

# The runner's job files, each run by the runner with its events and messages
# compared to the files that docs/runner.rst shows, and the exit status it states.
RUNNER_SAMPLES = {"runner_showcase": 1, "runner_mistakes": 2}

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
    files = [path for path in SAMPLES.iterdir() if path.is_file()]
    unshown = sorted(path.name for path in files if path.resolve() not in included)
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


def test_runner_samples_listed() -> None:
    job_files = sorted(path.stem for path in SAMPLES.glob("runner_*.jsonl"))
    assert job_files == sorted([*RUNNER_SAMPLES, "runner_naps"])


def outcomes(events: str) -> list[tuple[str, str, bool]]:
    """Return each event's id, outcome and whether it has an error, sorted by id."""
    parsed = [json.loads(line) for line in events.splitlines()]
    return sorted((event["id"], event["outcome"], "error" in event) for event in parsed)


def without_durations(messages: str) -> str:
    """Return runner messages with the run's duration, which varies, replaced."""
    return re.sub(r" in \d+\.\d s: ", " in (duration) s: ", messages)


def run_trio_bucket(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "trio_bucket", *arguments]
    return subprocess.run(command, capture_output=True, text=True, cwd=cwd, timeout=60, check=False)


def sample_text(name: str) -> str:
    return (SAMPLES / name).read_text(encoding="utf-8")


@pytest.mark.parametrize("name", sorted(RUNNER_SAMPLES))
def test_runner_sample_output(name: str, tmp_path: Path) -> None:
    jobs = SAMPLES / f"{name}.jsonl"
    store = tmp_path / "rescued.sqlite3"
    command = [sys.executable, "-m", "trio_bucket", "run", str(jobs), "--store", str(store)]
    result = subprocess.run(
        command, capture_output=True, text=True, cwd=tmp_path, timeout=60, check=False
    )

    assert result.returncode == RUNNER_SAMPLES[name]
    expected_events = (SAMPLES / f"{name}.events").read_text(encoding="utf-8")
    assert outcomes(result.stdout) == outcomes(expected_events)
    expected_messages = (SAMPLES / f"{name}.messages").read_text(encoding="utf-8")
    assert without_durations(result.stderr) == without_durations(expected_messages)


@pytest.mark.parametrize("command", ["run", "rescued"])
def test_runner_help_matches_docs(command: str) -> None:
    # argparse wraps help text to the COLUMNS environment variable.
    result = subprocess.run(
        [sys.executable, "-m", "trio_bucket", command, "--help"],
        capture_output=True,
        text=True,
        env={**os.environ, "COLUMNS": "80"},
        timeout=60,
        check=True,
    )

    sample = SAMPLES / f"runner_{command}_help.txt"
    regenerate = f"COLUMNS=80 python -m trio_bucket {command} --help > {sample}"
    assert result.stdout == sample.read_text(encoding="utf-8"), f"update the docs: {regenerate}"


def wait_until_stored(count: int, cwd: Path) -> None:
    """Poll ``trio-bucket rescued`` until the store in *cwd* lists *count* tasks."""
    for _ in range(100):
        listed = run_trio_bucket("rescued", "--store", "rescued.sqlite3", cwd=cwd)
        if len(listed.stdout.splitlines()) == count:
            return
        time.sleep(0.1)
    raise AssertionError(f"the store never listed {count} tasks")


def stored_tasks(listing: str) -> list[tuple[str, str, object]]:
    """Return the id, kind and data of each listed task; its times vary from run to run."""
    listed = [json.loads(line) for line in listing.splitlines()]
    return [(task["id"], task["kind"], task["data"]) for task in listed]


def test_runner_interrupt_and_resume(tmp_path: Path) -> None:
    # The journal writes each task at its fill, so the store shows when the
    # runner has filled both tasks and is ready for the interrupt.
    jobs = str(SAMPLES / "runner_naps.jsonl")
    command = [sys.executable, "-m", "trio_bucket", "run", "--journal"]
    command += ["--store", "rescued.sqlite3", jobs]
    runner = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        wait_until_stored(2, tmp_path)
        runner.send_signal(signal.SIGINT)
        stdout, stderr = runner.communicate(timeout=60)
    finally:
        runner.kill()
        runner.wait()

    assert runner.returncode == 130
    assert outcomes(stdout) == outcomes(sample_text("runner_naps_sigint.events"))
    assert without_durations(stderr) == without_durations(
        sample_text("runner_naps_sigint.messages")
    )

    listed = run_trio_bucket("rescued", "--store", "rescued.sqlite3", cwd=tmp_path)
    assert listed.returncode == 0
    assert stored_tasks(listed.stdout) == stored_tasks(sample_text("runner_naps_rescued.stdout"))
    assert listed.stderr == sample_text("runner_naps_rescued.messages")

    resumed = run_trio_bucket(
        "run", "--resume", "--journal", "--store", "rescued.sqlite3", os.devnull, cwd=tmp_path
    )
    assert resumed.returncode == 0
    assert outcomes(resumed.stdout) == outcomes(sample_text("runner_naps_resume.events"))
    assert without_durations(resumed.stderr) == without_durations(
        sample_text("runner_naps_resume.messages")
    )
