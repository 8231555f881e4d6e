"""trio_bucket: an in-memory bucket of background tasks for Trio programs."""

import importlib
from typing import TYPE_CHECKING

from ._bucket import Bucket as Bucket
from ._errors import BucketClosedError as BucketClosedError
from ._errors import BucketError as BucketError
from ._errors import BucketFullError as BucketFullError
from ._errors import DuplicateTaskError as DuplicateTaskError
from ._errors import TaskNotFoundError as TaskNotFoundError
from ._executor import Executor as Executor
from ._executor import ExecutorProtocol as ExecutorProtocol
from ._handle import TaskHandle as TaskHandle
from ._open import open_bucket as open_bucket
from ._records import BucketStatistics as BucketStatistics
from ._records import Outcome as Outcome
from ._records import TaskKind as TaskKind
from ._records import TaskRecord as TaskRecord
from ._stores._base import RescueStore as RescueStore
from ._stores._sqlite import SqliteRescueStore as SqliteRescueStore

if TYPE_CHECKING:
    from ._shared import SharedBucket as SharedBucket
    from ._shared import SharedStatistics as SharedStatistics
    from ._shared import open_shared_bucket as open_shared_bucket
    from ._stores._redis import RedisRescueStore as RedisRescueStore
    from ._stores._redis import open_redis_store as open_redis_store

__version__ = "0.1.0"

__all__ = [
    "Bucket",
    "BucketClosedError",
    "BucketError",
    "BucketFullError",
    "BucketStatistics",
    "DuplicateTaskError",
    "Executor",
    "ExecutorProtocol",
    "Outcome",
    "RescueStore",
    "SqliteRescueStore",
    "TaskHandle",
    "TaskKind",
    "TaskNotFoundError",
    "TaskRecord",
    "open_bucket",
]


def _fix_module_names() -> None:
    # Show public names as trio_bucket.X, not trio_bucket._module.X, in reprs and docs.
    for name in __all__:
        obj = globals()[name]
        if getattr(obj, "__module__", "").startswith("trio_bucket._"):
            obj.__module__ = __name__


_fix_module_names()


# These names need coredis, the optional redis extra, so they are imported on
# first use: importing trio_bucket itself never imports coredis.
_REDIS_NAMES = {
    "RedisRescueStore": "._stores._redis",
    "open_redis_store": "._stores._redis",
    "SharedBucket": "._shared",
    "SharedStatistics": "._shared",
    "open_shared_bucket": "._shared",
}


def __getattr__(name: str) -> object:
    module_name = _REDIS_NAMES.get(name)
    if module_name is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(module_name, __name__)
    except ImportError as error:
        raise ImportError(
            f"trio_bucket.{name} needs coredis ({error}); "
            "install the redis extra: pip install 'trio_bucket[redis]'"
        ) from error
    # Publish every lazy name of that module at once, so that annotations that
    # name one of them (as autodoc renders them) show trio_bucket.X as well.
    for lazy_name, lazy_module in _REDIS_NAMES.items():
        if lazy_module == module_name:
            value = getattr(module, lazy_name)
            value.__module__ = __name__
            globals()[lazy_name] = value
    return globals()[name]
