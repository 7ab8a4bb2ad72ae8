"""The faust-streaming host of a worker (``bonus worker``); the logic is in ``streams.runtime``."""
