"""The benchmark of issue 7: ``make bench`` (full) or ``make bench QUICK=1``.

Measures, in one run against the local Kafka broker and Redis, a bare confluent-kafka
passthrough (the ceiling for a Python consumer here), accrual throughput and latency through
real ``bonus worker`` subprocesses, a burst of lots expiring in the same minute, Redis bytes per
lot, worker RSS and 1 vs 2 workers; writes ``bench-results.json`` and prints a table with the
targets' PASS/FAIL. Every run has its own topic prefix, consumer group and Redis key prefix and
deletes them at the end.
"""
