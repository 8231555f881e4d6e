"""Sphinx configuration for the trio_bucket documentation.

The build never uses the network. Python's objects come from the inventory that
Debian's ``python3-doc`` package installs; Trio's come from a small inventory that
this file writes from the table below, so links to Trio's pages work offline.
"""

from __future__ import annotations

import importlib.metadata
import zlib
from pathlib import Path

project = "trio_bucket"
author = "The trio_bucket developers"
copyright = "2026, The trio_bucket developers"
release = importlib.metadata.version("trio_bucket")
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.extlinks",
    "sphinxcontrib_trio",
]

html_theme = "furo"
html_title = f"trio_bucket {release}"
exclude_patterns = ["_build", "samples"]
nitpicky = True
default_role = "py:obj"
primary_domain = "py"
# Python appears only through literalinclude with an explicit language, so that
# every Python sample is a file under samples/ that the test suite runs.
highlight_language = "none"

autodoc_member_order = "bysource"
autodoc_typehints = "signature"
autodoc_preserve_defaults = True
napoleon_google_docstring = True
napoleon_numpy_docstring = False

extlinks = {
    "trio-docs": ("https://trio.readthedocs.io/en/stable/%s", "%s"),
    "pytest-trio": ("https://pytest-trio.readthedocs.io/en/stable/%s", "%s"),
}

# Python: Debian's python3-doc ships objects.inv under one of these paths. Without
# it the build skips the link to Python's docs instead of downloading anything.
PYTHON_INVENTORIES = [
    "/usr/share/doc/python3/html/objects.inv",
    "/usr/share/doc/python3-doc/html/objects.inv",
]
python_inventory = next((path for path in PYTHON_INVENTORIES if Path(path).is_file()), None)

# Trio: its inventory cannot be fetched offline, so the objects these pages name
# are listed here with the page of Trio's documentation that describes them.
TRIO_OBJECTS = {
    "reference-core.html": [
        ("trio.run", "function"),
        ("trio.current_time", "function"),
        ("trio.sleep", "function"),
        ("trio.sleep_until", "function"),
        ("trio.sleep_forever", "function"),
        ("trio.CancelScope", "class"),
        ("trio.CancelScope.deadline", "attribute"),
        ("trio.CancelScope.cancel", "method"),
        ("trio.CancelScope.cancelled_caught", "attribute"),
        ("trio.CancelScope.shield", "attribute"),
        ("trio.move_on_after", "function"),
        ("trio.move_on_at", "function"),
        ("trio.fail_after", "function"),
        ("trio.open_nursery", "function"),
        ("trio.Nursery", "class"),
        ("trio.Nursery.start_soon", "method"),
        ("trio.Nursery.start", "method"),
        ("trio.Event", "class"),
        ("trio.CapacityLimiter", "class"),
        ("trio.open_memory_channel", "function"),
        ("trio.to_thread.run_sync", "function"),
        ("trio.from_thread.run", "function"),
        ("trio.from_thread.run_sync", "function"),
        ("trio.current_effective_deadline", "function"),
        ("trio.TaskStatus", "class"),
        ("trio.Cancelled", "exception"),
        ("trio.ClosedResourceError", "exception"),
        ("trio.BrokenResourceError", "exception"),
        ("trio.BusyResourceError", "exception"),
        ("trio.RunFinishedError", "exception"),
        ("trio.TooSlowError", "exception"),
        ("trio.WouldBlock", "exception"),
    ],
    "reference-io.html": [
        ("trio.run_process", "function"),
        ("trio.Process", "class"),
        ("trio.Path", "class"),
        ("trio.abc.ReceiveStream", "class"),
        ("trio.open_signal_receiver", "function"),
    ],
    "reference-lowlevel.html": [
        ("trio.lowlevel.checkpoint", "function"),
        ("trio.lowlevel.current_trio_token", "function"),
        ("trio.lowlevel.TrioToken", "class"),
    ],
    "reference-testing.html": [
        ("trio.testing.MockClock", "class"),
        ("trio.testing.MockClock.jump", "method"),
        ("trio.testing.MockClock.autojump_threshold", "attribute"),
        ("trio.testing.wait_all_tasks_blocked", "function"),
        ("trio.testing.assert_checkpoints", "function"),
    ],
}


def write_trio_inventory() -> str:
    """Write the table above as a Sphinx objects.inv file and return its path."""
    lines = []
    for page, objects in TRIO_OBJECTS.items():
        for name, role in objects:
            lines.append(f"{name} py:{role} 1 {page}#$ -\n")

    header = (
        "# Sphinx inventory version 2\n"
        "# Project: Trio\n"
        "# Version: stable\n"
        "# The remainder of this file is compressed using zlib.\n"
    )
    # Inside the build folder, so that no build leaves a file behind elsewhere.
    folder = Path(__file__).parent / "_build"
    folder.mkdir(exist_ok=True)
    path = folder / "trio-objects.inv"
    path.write_bytes(header.encode() + zlib.compress("".join(lines).encode()))
    return str(path)


intersphinx_mapping = {
    "trio": ("https://trio.readthedocs.io/en/stable/", write_trio_inventory()),
}
if python_inventory is not None:
    intersphinx_mapping["python"] = ("https://docs.python.org/3/", python_inventory)
intersphinx_timeout = 1

nitpick_ignore_regex = [
    # attrs generates __init__ signatures whose annotations name attrs' own
    # helper types; attrs' inventory cannot be fetched offline either.
    ("py:.*", r"attr(s)?\..*"),
]
if python_inventory is None:
    # Without Python's inventory, builtins and standard-library names cannot be
    # resolved; ignore them rather than fail the build.
    nitpick_ignore_regex.append(
        ("py:.*", r"(?!trio_bucket\b)(?!trio\b)[A-Za-z_][A-Za-z_0-9]*(\.[A-Za-z_][A-Za-z_0-9]*)*")
    )


def merge_attribute_comments(app: object) -> None:
    """Let autodoc find the ``#:`` comments of public names defined in private modules.

    ``trio_bucket/__init__.py`` sets each public name's ``__module__`` to
    ``trio_bucket``, so autodoc looks for attribute comments and source order in
    ``trio_bucket/__init__.py``. This copies them there from the private modules
    that define the names.
    """
    from sphinx.pycode import ModuleAnalyzer

    import trio_bucket

    public = ModuleAnalyzer.for_module("trio_bucket")
    public.analyze()
    exported = set(trio_bucket.__all__)
    package = Path(trio_bucket.__file__).parent
    # Parse the source files without importing them: importing a command-line
    # module such as __main__ would run it.
    for path in sorted(package.rglob("*.py")):
        relative = path.relative_to(package.parent).with_suffix("")
        private = ModuleAnalyzer.for_file(str(path), ".".join(relative.parts))
        private.analyze()
        for (scope, name), comment in private.attr_docs.items():
            if scope in exported:
                public.attr_docs[scope, name] = comment
        for qualname, order in private.tagorder.items():
            if qualname.split(".")[0] in exported:
                public.tagorder[qualname] = order


def hide_context_manager_type(
    app: object,
    what: str,
    name: str,
    obj: object,
    options: object,
    signature: str | None,
    return_annotation: str | None,
) -> tuple[str | None, str | None] | None:
    """Drop the return annotation of open_bucket, which ``async with ... as bucket`` shows."""
    if name == "trio_bucket.open_bucket":
        return signature, None
    return None


def setup(app: object) -> None:
    """Connect the hooks above."""
    app.connect("builder-inited", merge_attribute_comments)  # type: ignore[attr-defined]
    app.connect("autodoc-process-signature", hide_context_manager_type)  # type: ignore[attr-defined]
