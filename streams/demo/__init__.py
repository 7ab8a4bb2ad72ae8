"""Demo traffic and the live terminal view of ``make run`` (``bonus demo``).

A seeded simulator of the café chain's guests (``population``, ``traffic``) publishes their
purchases, installs, redemptions and refunds on the service clock (``publisher``, ``run``); a
consumer of the output topics shows what the workers make of them (``progress``).
"""
