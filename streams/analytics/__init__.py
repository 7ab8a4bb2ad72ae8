"""Analytics: the ``bonus.metrics`` windows and the ``bonus report`` that reads them.

The ledger scripts count every event they write to the outbox into per-shard window counters
(exact under repeats: a state change happens once); the worker's closer sums a closed window
over the shards and publishes one MetricsWindow per dimension (``counters``, ``store``,
``streams/runtime/windows.py``); ``report`` turns the topic into tables.
"""
