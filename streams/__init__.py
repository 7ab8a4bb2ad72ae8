"""Stream processing for time-limited loyalty bonuses: workers, ledger, timers, adapters."""
