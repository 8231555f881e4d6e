"""A metaclass for classes that only the library itself constructs."""

from __future__ import annotations

from typing import Any, NoReturn, TypeVar

_T = TypeVar("_T")


class NoPublicConstructor(type):
    """Make ``Class(...)`` raise TypeError; the library builds instances with ``_create``."""

    def __call__(cls, *args: object, **kwargs: object) -> NoReturn:
        raise TypeError(
            f"{cls.__module__}.{cls.__qualname__} has no public constructor; "
            "use trio_bucket.open_bucket() to get one"
        )

    def _create(cls: type[_T], *args: Any, **kwargs: Any) -> _T:
        return super().__call__(*args, **kwargs)  # type: ignore[misc, no-any-return]
