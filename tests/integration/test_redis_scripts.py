"""Lua scripts are loaded once and survive SCRIPT FLUSH (redis-py reloads on NOSCRIPT)."""

from __future__ import annotations

from tests.redis_helpers import sync_client

# A state change in the style of the ledger: check-and-record an idempotency key, then change
# state, in one atomic script with every key passed as a key.
IDEMPOTENT_INCR = """
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', 604800) then
  return redis.call('INCRBY', KEYS[2], ARGV[2])
end
return tonumber(redis.call('GET', KEYS[2]) or '0')
"""


def test_script_is_loaded_once_and_reloaded_after_script_flush(
    redis_url: str, key_prefix: str
) -> None:
    client = sync_client(redis_url)
    script = client.register_script(IDEMPOTENT_INCR)
    seen, total = f"{key_prefix}{{c1}}:seen:e1", f"{key_prefix}{{c1}}:total"
    try:
        assert script(keys=[seen, total], args=["e1", 5]) == 5
        assert client.script_exists(script.sha) == [True]
        assert script(keys=[seen, total], args=["e1", 5]) == 5  # a repeat changes nothing

        client.script_flush()
        assert client.script_exists(script.sha) == [False]

        seen2 = f"{key_prefix}{{c1}}:seen:e2"
        assert script(keys=[seen2, total], args=["e2", 7]) == 12
        assert client.script_exists(script.sha) == [True]
    finally:
        client.delete(seen, f"{key_prefix}{{c1}}:seen:e2", total)
        client.close()
