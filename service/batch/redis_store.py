"""The batch store on Redis.

Keys of one batch share the hash tag ``{id}`` (one cluster slot, so a transaction can span
them):

| key | type | holds |
|---|---|---|
| ``policy-eval:batch:{id}`` | hash | the record: state, format, total, times, ttl |
| ``…:chunk:N`` | string | chunk N's items (deleted once scored) |
| ``…:attempts`` | hash | chunk N -> times started (a chunk that keeps killing workers stops) |
| ``…:in-flight`` | hash | chunk N -> the item being evaluated, when the chunk is redelivered |
| ``…:crashes`` | hash | item index -> workers lost while evaluating it |
| ``…:proposals`` | hash | scored item index -> its proposal as JSON (worded when read) |
| ``…:summary`` | hash | item index -> the few figures ranking and CSV need |
| ``…:errors`` / ``…:failed`` | hash / zset | failed items' errors / their indexes, in order |
| ``…:rank:overall_score``, ``…:rank:criterion:NAME`` | zset | index by minus the score |

Every write sets the keys' expiry; finishing resets them all to ``ttl`` from the end, so a
batch's results live ``BATCH_RESULT_TTL`` seconds after it finishes, whatever it took.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import orjson
import redis

from service.batch.chunks import Outcome, Scored
from service.batch.store import (
    ACTIVE,
    OVERALL,
    RECEIVING,
    member,
    pack_proposal,
)

PREFIX = "policy-eval:batch:"
KEY_PREFIX = "policy-eval:batch-key:"
UNFINISHED = "policy-eval:batches:unfinished"  # ids of batches receiving or being scored
WORKER_KEYS = ("attempts", "in-flight", "crashes")  # the workers' bookkeeping of a batch

# KEYS: the record, summary, errors, then every key to expire; ARGV: finished_at
_FINISH = """
if redis.call('HGET', KEYS[1], 'state') ~= 'active' then return 0 end
local total = tonumber(redis.call('HGET', KEYS[1], 'total'))
if redis.call('HLEN', KEYS[2]) + redis.call('HLEN', KEYS[3]) < total then return 0 end
redis.call('HSET', KEYS[1], 'state', 'done', 'finished_at', ARGV[1])
local ttl = tonumber(redis.call('HGET', KEYS[1], 'ttl'))
for i = 1, #KEYS do redis.call('EXPIRE', KEYS[i], ttl) end
return 1
"""
# KEYS: the record; ARGV: cancelled_at. Only an active (or still receiving) batch cancels.
_CANCEL = """
local state = redis.call('HGET', KEYS[1], 'state')
if state == 'active' or state == 'receiving' then
  redis.call('HSET', KEYS[1], 'state', 'cancelled', 'cancelled_at', ARGV[1])
  return 'cancelled'
end
return state
"""


def key(batch_id: str, *parts: str) -> str:
    return ":".join((f"{PREFIX}{{{batch_id}}}", *parts))


def rank_key(batch_id: str, sort: str) -> str:
    return key(batch_id, "rank", OVERALL if sort == OVERALL else f"criterion:{sort}")


class RedisBatchStore:
    def __init__(self, url: str) -> None:
        # Short timeouts: an unreachable Redis should be a prompt 503, not a hung request.
        # Typed Any: redis-py types each reply as the union of every shape a reply can take,
        # which would need a cast on every line; the replies' shapes are fixed by the commands.
        self._redis: Any = redis.Redis.from_url(url, socket_connect_timeout=3,
                                                socket_timeout=30)
        self._finish = self._redis.register_script(_FINISH)
        self._cancel = self._redis.register_script(_CANCEL)

    # --- Idempotency-Key ---

    def claim_key(self, idem: str, batch_id: str, ttl: int) -> dict[str, str] | None:
        claim = json.dumps({"batch": batch_id, "state": "pending"})
        if self._redis.set(KEY_PREFIX + idem, claim, nx=True, ex=ttl):
            return None
        existing = self._redis.get(KEY_PREFIX + idem)
        if existing is None:  # expired between the two calls: claim again
            return self.claim_key(idem, batch_id, ttl)
        found: dict[str, str] = json.loads(existing)
        return found

    def settle_key(self, idem: str, batch_id: str, fingerprint: str, ttl: int) -> None:
        self._redis.set(KEY_PREFIX + idem, json.dumps(
            {"batch": batch_id, "state": "done", "fingerprint": fingerprint}), ex=ttl)

    def release_key(self, idem: str) -> None:
        self._redis.delete(KEY_PREFIX + idem)

    # --- the API ---

    def create(self, batch_id: str, meta: Mapping[str, str], ttl: int) -> None:
        with self._redis.pipeline() as pipe:
            pipe.hset(key(batch_id), mapping=dict(meta))
            pipe.expire(key(batch_id), ttl)
            pipe.sadd(UNFINISHED, batch_id)
            pipe.execute()

    def put_chunks(self, batch_id: str, chunks: Sequence[tuple[int, bytes]], ttl: int
                   ) -> None:
        with self._redis.pipeline(transaction=False) as pipe:
            for number, payload in chunks:
                pipe.set(key(batch_id, "chunk", str(number)), payload, ex=ttl)
                pipe.hset(key(batch_id, "inputs"), str(number), payload)
            pipe.expire(key(batch_id, "inputs"), ttl)
            pipe.execute()

    def finalize(self, batch_id: str, fields: Mapping[str, str]) -> None:
        # only a batch still receiving: a cancel during the upload must stick
        with self._redis.pipeline() as pipe:
            pipe.hset(key(batch_id), mapping=dict(fields))
            pipe.execute()
        self._redis.eval("if redis.call('HGET', KEYS[1], 'state') == ARGV[1] then "
                         "redis.call('HSET', KEYS[1], 'state', ARGV[2]) end", 1, key(batch_id),
                         RECEIVING, ACTIVE)

    def discard(self, batch_id: str) -> None:
        keys = [key(batch_id, part) for part in ("proposals", "summary", "errors", "failed",
                                                   *WORKER_KEYS, "inputs")]
        criteria = self._redis.hget(key(batch_id), "criteria")
        keys += [rank_key(batch_id, sort) for sort in _sorts(criteria)]
        self._redis.delete(key(batch_id), *keys)
        self._redis.srem(UNFINISHED, batch_id)
        chunks = list(self._redis.scan_iter(match=key(batch_id, "chunk", "*"), count=1000))
        for start in range(0, len(chunks), 1000):
            self._redis.delete(*chunks[start:start + 1000])

    def cancel(self, batch_id: str, at: str) -> str | None:
        state = self._cancel(keys=[key(batch_id)], args=[at])
        self._redis.srem(UNFINISHED, batch_id)
        return state.decode() if isinstance(state, bytes) else state

    def try_finish(self, batch_id: str, at: str) -> bool:
        criteria = self._redis.hget(key(batch_id), "criteria")
        keys = [key(batch_id), key(batch_id, "summary"), key(batch_id, "errors"),
                key(batch_id, "proposals"), key(batch_id, "failed"), key(batch_id, "inputs"),
                *(key(batch_id, part) for part in WORKER_KEYS)]
        keys += [rank_key(batch_id, sort) for sort in _sorts(criteria)]
        finished = bool(self._finish(keys=keys, args=[at]))
        if finished:
            self._redis.srem(UNFINISHED, batch_id)
        return finished

    # --- reading ---

    def meta(self, batch_id: str) -> dict[str, str] | None:
        found = self._redis.hgetall(key(batch_id))
        if not found or b"state" not in found:
            return None
        return {k.decode(): v.decode() for k, v in found.items()}

    def unfinished(self) -> list[tuple[str, dict[str, str]]]:
        found = []
        for raw in self._redis.smembers(UNFINISHED):
            batch_id = raw.decode() if isinstance(raw, bytes) else str(raw)
            meta = self.meta(batch_id)
            if meta is None or meta["state"] not in (RECEIVING, ACTIVE):
                self._redis.srem(UNFINISHED, batch_id)  # expired or ended without us seeing it
                continue
            found.append((batch_id, meta))
        return found

    def inputs(self, batch_id: str) -> list[bytes]:
        stored = self._redis.hgetall(key(batch_id, "inputs"))
        return [stored[number] for number in sorted(stored, key=int)]

    def counts(self, batch_id: str) -> tuple[int, int]:
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.hlen(key(batch_id, "summary"))
            pipe.hlen(key(batch_id, "errors"))
            scored, failed = pipe.execute()
        return int(scored), int(failed)

    def ranked(self, batch_id: str, sort: str, start: int, stop: int, reverse: bool
               ) -> list[int]:
        members = self._redis.zrange(rank_key(batch_id, sort), start, stop, desc=reverse)
        return [int(m) for m in members]

    def proposals(self, batch_id: str, indexes: Sequence[int]) -> list[bytes | None]:
        if not indexes:
            return []
        found: list[bytes | None] = self._redis.hmget(key(batch_id, "proposals"),
                                                      [member(i) for i in indexes])
        return found

    def summaries(self, batch_id: str, indexes: Sequence[int]) -> list[dict[str, Any] | None]:
        if not indexes:
            return []
        found = self._redis.hmget(key(batch_id, "summary"), [member(i) for i in indexes])
        return [orjson.loads(v) if v is not None else None for v in found]

    def failures(self, batch_id: str, start: int, stop: int) -> list[dict[str, Any]]:
        members = self._redis.zrange(key(batch_id, "failed"), start, stop)
        if not members:
            return []
        found = self._redis.hmget(key(batch_id, "errors"), members)
        return [orjson.loads(v) for v in found if v is not None]

    def all_summaries(self, batch_id: str) -> Iterator[dict[str, Any]]:
        for _, value in self._redis.hscan_iter(key(batch_id, "summary"), count=1000):
            yield orjson.loads(value)

    # --- the workers ---

    def state(self, batch_id: str) -> str | None:
        found = self._redis.hget(key(batch_id), "state")
        return found.decode() if found is not None else None

    def chunk(self, batch_id: str, number: int) -> bytes | None:
        found = self._redis.get(key(batch_id, "chunk", str(number)))
        return bytes(found) if found is not None else None

    def begin_chunk(self, batch_id: str, number: int, at: str) -> int:
        with self._redis.pipeline() as pipe:
            pipe.hincrby(key(batch_id, "attempts"), str(number), 1)
            pipe.ttl(key(batch_id))
            # only if the record still exists: never resurrect a discarded batch
            pipe.exists(key(batch_id))
            attempts, ttl, exists = pipe.execute()
        if exists:
            self._redis.hsetnx(key(batch_id), "started_at", at)
            self._redis.expire(key(batch_id, "attempts"), max(int(ttl), 60))
        else:
            self._redis.delete(key(batch_id, "attempts"))
        return int(attempts)

    def mark_in_flight(self, batch_id: str, number: int, index: int, ttl: int) -> None:
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.hset(key(batch_id, "in-flight"), str(number), index)
            pipe.expire(key(batch_id, "in-flight"), ttl)
            pipe.execute()

    def in_flight(self, batch_id: str, number: int) -> int | None:
        found = self._redis.hget(key(batch_id, "in-flight"), str(number))
        return int(found) if found is not None else None

    def count_crash(self, batch_id: str, index: int, ttl: int) -> int:
        with self._redis.pipeline() as pipe:
            pipe.hincrby(key(batch_id, "crashes"), member(index), 1)
            pipe.expire(key(batch_id, "crashes"), ttl)
            crashes, _ = pipe.execute()
        return int(crashes)

    def recorded(self, batch_id: str, indexes: Sequence[int]) -> set[int]:
        if not indexes:
            return set()
        members = [member(i) for i in indexes]
        with self._redis.pipeline(transaction=False) as pipe:
            pipe.hmget(key(batch_id, "summary"), members)
            pipe.hmget(key(batch_id, "errors"), members)
            scored, failed = pipe.execute()
        return {i for i, s, f in zip(indexes, scored, failed, strict=True)
                if s is not None or f is not None}

    def record(self, batch_id: str, outcomes: Sequence[Outcome], ttl: int) -> None:
        proposals: dict[str, bytes] = {}
        summaries: dict[str, bytes] = {}
        ranks: dict[str, dict[str, float]] = {}
        errors: dict[str, bytes] = {}
        failed: dict[str, float] = {}
        for outcome in outcomes:
            name = member(outcome.index)
            if isinstance(outcome, Scored):
                proposals[name] = pack_proposal(outcome.proposal)
                summaries[name] = orjson.dumps(
                    {"index": outcome.index, "line": outcome.line, **outcome.summary})
                ranks.setdefault(OVERALL, {})[name] = -outcome.summary[OVERALL]
                for criterion, score in outcome.summary["scores"].items():
                    ranks.setdefault(criterion, {})[name] = -score
            else:
                errors[name] = orjson.dumps(outcome.as_dict())
                failed[name] = outcome.index
        criteria = [c for c in ranks if c != OVERALL]
        with self._redis.pipeline() as pipe:  # MULTI/EXEC: an item is recorded whole or not
            if proposals:
                pipe.hset(key(batch_id, "proposals"), mapping=proposals)
                pipe.hset(key(batch_id, "summary"), mapping=summaries)
                for sort, scores in ranks.items():
                    pipe.zadd(rank_key(batch_id, sort), scores)
                    pipe.expire(rank_key(batch_id, sort), ttl)
                pipe.expire(key(batch_id, "proposals"), ttl)
                pipe.expire(key(batch_id, "summary"), ttl)
                pipe.hsetnx(key(batch_id), "criteria", json.dumps(criteria))
                pipe.expire(key(batch_id), ttl)
            if errors:
                pipe.hset(key(batch_id, "errors"), mapping=errors)
                pipe.zadd(key(batch_id, "failed"), failed)
                pipe.expire(key(batch_id, "errors"), ttl)
                pipe.expire(key(batch_id, "failed"), ttl)
            pipe.execute()

    def drop_chunk(self, batch_id: str, number: int) -> None:
        self._redis.delete(key(batch_id, "chunk", str(number)))


def _sorts(criteria: Any) -> list[str]:
    names = json.loads(criteria) if criteria else []
    return [OVERALL, *names]

