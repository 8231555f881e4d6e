"""The Redis keys of one shared bucket, and the Lua scripts that change them.

Every change that touches more than one key is one script, so Redis runs it as
one step and no other process can read it half done. All keys carry the bucket name
as their hash tag, so that a Redis Cluster keeps them in one slot.
"""

from __future__ import annotations

from typing import final

import attrs
import coredis
from coredis.commands.script import Script

#: The consumer group that every process of a shared bucket joins, on both streams.
GROUP = "workers"

# Registry values: a live task's id maps to its fill token. While its outcome
# hook runs, the value is "TOKEN|CONSUMER", so that a drain then finds no live task.


@attrs.frozen
class SharedKeys:
    """The Redis key names of the shared bucket called *name*."""

    name: str

    @property
    def live(self) -> str:
        """str: The hash from each live task id to its fill token."""
        return f"trio_bucket:{{{self.name}}}:live"

    @property
    def queue(self) -> str:
        """str: The stream of tasks waiting for a process with room."""
        return f"trio_bucket:{{{self.name}}}:queue"

    @property
    def held(self) -> str:
        """str: The stream of tasks filled straight into a process's own bucket."""
        return f"trio_bucket:{{{self.name}}}:held"

    @property
    def control(self) -> str:
        """str: The stream of drain requests that every process reads."""
        return f"trio_bucket:{{{self.name}}}:control"


# KEYS: live, stream. ARGV: group, consumer, deliver ("1" or "0"), id, token,
# then the entry's field/value pairs. Registers the id, appends the entry and,
# with deliver, reads it at once into the consumer's pending list. Only this
# script appends to the held stream, always with deliver, so the one entry that
# XREADGROUP ">" returns there is the one just added. Returns the entry id, or
# false when a live task already has the id.
FILL = """
if redis.call('HSETNX', KEYS[1], ARGV[4], ARGV[5]) == 0 then
  return false
end
local fields = {}
for i = 6, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
local entry = redis.call('XADD', KEYS[2], '*', unpack(fields))
if ARGV[3] == '1' then
  redis.call('XREADGROUP', 'GROUP', ARGV[1], ARGV[2], 'COUNT', 1, 'STREAMS', KEYS[2], '>')
end
return entry
"""

# KEYS: live, stream. ARGV: group, then (entry id, task id, token) triples.
# Keeps an entry whose token is still the live one; acknowledges and deletes the
# others (drained, or already settled elsewhere). A token marked as settling
# means that the process running its outcome hook died or stalled before it
# acknowledged the entry, so the task is live again and runs once more.
# Returns 1 (keep) or 0 per entry.
TAKE = """
local keep = {}
for i = 2, #ARGV, 3 do
  local value = redis.call('HGET', KEYS[1], ARGV[i + 1])
  local token = ARGV[i + 2]
  if value == token then
    keep[#keep + 1] = 1
  elseif value and string.sub(value, 1, #token + 1) == token .. '|' then
    redis.call('HSET', KEYS[1], ARGV[i + 1], token)
    keep[#keep + 1] = 1
  else
    redis.call('XACK', KEYS[2], ARGV[1], ARGV[i])
    redis.call('XDEL', KEYS[2], ARGV[i])
    keep[#keep + 1] = 0
  end
end
return keep
"""

# KEYS: live. ARGV: id, token, consumer. Marks the task as settling by this
# consumer, so that a drain can no longer find it. Returns 1 if this consumer
# may run the outcome hook, 0 if the task was drained or settled elsewhere.
RESERVE = """
local value = redis.call('HGET', KEYS[1], ARGV[1])
local mine = ARGV[2] .. '|' .. ARGV[3]
if value == ARGV[2] then
  redis.call('HSET', KEYS[1], ARGV[1], mine)
  return 1
end
if value == mine then
  return 1
end
return 0
"""

# KEYS: live, stream. ARGV: group, entry id, task id, token. Releases the id if
# this token still has it, and acknowledges and deletes the entry.
SETTLE = """
local value = redis.call('HGET', KEYS[1], ARGV[3])
if value and (value == ARGV[4] or string.sub(value, 1, #ARGV[4] + 1) == ARGV[4] .. '|') then
  redis.call('HDEL', KEYS[1], ARGV[3])
end
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
return 1
"""

# KEYS: stream. ARGV: group, entry id. Acknowledges and deletes an entry whose
# task is no longer live, without touching the registry.
ACK = """
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""

# KEYS: live, control. ARGV: id, max control length. Releases a live task's id
# and announces its token on the control stream. Returns the token, or false
# when no task with this id is live (never filled, or its outcome is claimed).
DRAIN = """
local value = redis.call('HGET', KEYS[1], ARGV[1])
if not value or string.find(value, '|', 1, true) then
  return false
end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'token', value)
return value
"""

# KEYS: live, from stream, queue. ARGV: group, entry id, task id, token, then
# the entry's field/value pairs. Moves a live task's entry to the queue, where
# any process can take it. Returns the new entry id, or false when the task is no
# longer live (its old entry is acknowledged either way).
REQUEUE = """
local live = redis.call('HGET', KEYS[1], ARGV[3]) == ARGV[4]
redis.call('XACK', KEYS[2], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[2], ARGV[2])
if not live then
  return false
end
local fields = {}
for i = 5, #ARGV do
  fields[#fields + 1] = ARGV[i]
end
return redis.call('XADD', KEYS[3], '*', unpack(fields))
"""

# KEYS: stream. ARGV: group, consumer, entry ids. Resets the idle time of each
# entry that this consumer still owns, so that XAUTOCLAIM leaves it alone, and
# returns the ids that another consumer has claimed meanwhile.
HEARTBEAT = """
local lost = {}
for i = 3, #ARGV do
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1)
  if pending[1] and pending[1][2] == ARGV[2] then
    redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[i], 'JUSTID')
  else
    lost[#lost + 1] = ARGV[i]
  end
end
return lost
"""


@final
class Scripts:
    """The scripts above, registered with one client."""

    def __init__(self, client: coredis.Redis[str]) -> None:
        self.fill: Script[str] = client.register_script(FILL)
        self.take: Script[str] = client.register_script(TAKE)
        self.reserve: Script[str] = client.register_script(RESERVE)
        self.settle: Script[str] = client.register_script(SETTLE)
        self.ack: Script[str] = client.register_script(ACK)
        self.drain: Script[str] = client.register_script(DRAIN)
        self.requeue: Script[str] = client.register_script(REQUEUE)
        self.heartbeat: Script[str] = client.register_script(HEARTBEAT)
