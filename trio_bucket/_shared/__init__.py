"""A bucket shared by several processes through Redis Streams."""

from ._bucket import SharedBucket as SharedBucket
from ._bucket import SharedStatistics as SharedStatistics
from ._open import open_shared_bucket as open_shared_bucket

__all__ = ["SharedBucket", "SharedStatistics", "open_shared_bucket"]
