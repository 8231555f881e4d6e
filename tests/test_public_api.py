"""The names exported in trio_bucket.__all__ are exactly those the API reference documents."""

from __future__ import annotations

import re
from pathlib import Path

import trio_bucket

REFERENCE = Path(__file__).parent.parent / "docs" / "reference.rst"

# A top-level autodoc directive: ".. autoclass:: Bucket()" documents "Bucket".
# Members (automethod, autoattribute) are indented and belong to their class.
DIRECTIVE = re.compile(
    r"^\.\. auto(?:function|class|exception|data|decorator)::\s+([A-Za-z_][A-Za-z_0-9.]*)",
    re.MULTILINE,
)


def documented_names() -> list[str]:
    """Return the names of the top-level autodoc directives in the API reference."""
    names = DIRECTIVE.findall(REFERENCE.read_text(encoding="utf-8"))
    return [name.removeprefix("trio_bucket.") for name in names]


def test_reference_documents_every_export() -> None:
    missing = sorted(set(trio_bucket.__all__) - set(documented_names()))
    assert missing == [], f"exported but not in docs/reference.rst: {missing}"


def test_reference_documents_only_exports() -> None:
    extra = sorted(set(documented_names()) - set(trio_bucket.__all__))
    assert extra == [], f"in docs/reference.rst but not in trio_bucket.__all__: {extra}"


def test_reference_documents_each_name_once() -> None:
    names = documented_names()
    repeated = sorted({name for name in names if names.count(name) > 1})
    assert repeated == []


def test_all_names_exist() -> None:
    absent = [name for name in trio_bucket.__all__ if not hasattr(trio_bucket, name)]
    assert absent == []


def test_exports_show_public_module() -> None:
    private = [
        name
        for name in trio_bucket.__all__
        if getattr(trio_bucket, name).__module__ != "trio_bucket"
    ]
    assert private == []
