"""``bonus notify``: a reference consumer that turns expiry warnings into customer messages.

Pure parts (``template``, ``quiet``) decide what to say and when; ``store`` keeps what was sent
and what is held in Redis; ``channels`` deliver; ``service`` runs the consumer loop.
"""
