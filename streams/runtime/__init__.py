"""The worker's runtime, free of faust: processing one input, the outbox relay, the timer
loops, partition ownership, dead letters, HTTP handlers, metrics and logs.

``streams.worker`` hosts these in a faust-streaming app; another host could replace it.
"""
