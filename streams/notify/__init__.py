"""``bonus notify``: a reference consumer that turns expiry warnings into customer messages.

Pure parts decide what to say and when (``template``, ``quiet``); ``handler`` applies them to
one warning (dedupe, hold, deliver); ``store`` keeps sent ids and held warnings in Redis;
``channels`` deliver (log, webhook); ``service`` is the Kafka loop; ``cli`` is the command.
"""
