"""The rules file: its validated model, its loader (every problem at once) and ``rules check``."""
