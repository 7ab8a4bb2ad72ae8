"""Campaigns from the command line: ``bonus campaign launch|status`` and ``bonus segment count``
(:mod:`streams.campaigns.cli`). The registry and the fan-out live in the ledger
(:mod:`streams.ledger.campaigns`) and the worker (:mod:`streams.runtime.fanout`)."""
