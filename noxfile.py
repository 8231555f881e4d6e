"""Development sessions: nox -s tests, lint, typing (and more as the project grows)."""

from __future__ import annotations

import nox

nox.options.sessions = ["tests", "lint", "typing"]
nox.options.default_venv_backend = "venv"

PYTHON = ["3.11"]
TEST_DEPS = ["pytest", "pytest-trio", "pytest-timeout", "hypothesis"]


@nox.session(python=PYTHON)
def tests(session: nox.Session) -> None:
    """Install the package as a user would and run the test suite."""
    session.install(".[redis]", *TEST_DEPS)
    session.run("pytest", *session.posargs)


@nox.session(python="3.10")
def tests_oldest(session: nox.Session) -> None:
    """Run the test suite on the oldest Python the package supports."""
    tests(session)


@nox.session(python=PYTHON)
def stress(session: nox.Session) -> None:
    """Run the long model-based profile and many more cancellation and kill trials."""
    session.install(".[redis]", *TEST_DEPS)
    session.env["TRIO_BUCKET_STRESS"] = "1"
    stress_tests = ["tests/test_model.py", "tests/test_faults.py", "tests/test_kill.py"]
    session.run("pytest", *stress_tests, *session.posargs)


@nox.session(python=PYTHON)
def lint(session: nox.Session) -> None:
    """Run ruff's linter and format check."""
    session.install("ruff")
    session.run("ruff", "check", "trio_bucket", "tests", "benchmarks", "noxfile.py")
    session.run("ruff", "format", "--check", "trio_bucket", "tests", "benchmarks", "noxfile.py")


@nox.session(python=PYTHON)
def typing(session: nox.Session) -> None:
    """Type-check with mypy --strict and pyright strict, and verify the public types."""
    # Not editable: pyright --verifytypes cannot follow an editable install's import hook.
    session.install(".[redis]", "mypy", "pyright", *TEST_DEPS)
    session.run("mypy")
    session.run("pyright")
    session.run("pyright", "--verifytypes", "trio_bucket", "--ignoreexternal")


@nox.session(python=PYTHON)
def docs(session: nox.Session) -> None:
    """Lint the docs' Python samples, then build the HTML docs offline: nitpicky, -W."""
    # The redis extra: autodoc imports the Redis store and shared bucket, which need coredis.
    session.install(".[redis]", "sphinx", "sphinxcontrib-trio", "furo", "ruff")
    session.run("ruff", "check", "docs")
    session.run("ruff", "format", "--check", "docs")
    session.run(
        "sphinx-build", "-W", "--keep-going", "-n", "-E", "-b", "html", "docs", "docs/_build/html"
    )


@nox.session(python=PYTHON)
def bench(session: nox.Session) -> None:
    """Run the benchmarks in quick mode (the full run is python benchmarks/run.py)."""
    session.install(".", "aiojobs", "psutil")
    session.run("python", "benchmarks/run.py", "--quick", *session.posargs)
