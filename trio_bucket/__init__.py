"""trio_bucket: an in-memory bucket of background tasks for Trio programs."""

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
