"""The event contract: pydantic models for every payload, the topic catalog, durations."""
