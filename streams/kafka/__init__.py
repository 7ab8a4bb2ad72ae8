"""Kafka adapters: admin (topics), producers and consumers built from the settings."""
