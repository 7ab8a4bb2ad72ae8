"""The ledger's Lua scripts: read once from the package, registered with redis-py.

Each script is ``lib.lua`` followed by its own file, so every state change stays ONE atomic
EVALSHA while the helpers live in one place. redis-py's script object runs EVALSHA and, after a
``SCRIPT FLUSH`` or a failover to a server without it, reloads the script on NOSCRIPT.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

from redis.commands.core import AsyncScript

from streams.redis_clients import AsyncClient

SCRIPT_NAMES = ("accrue", "grant", "redeem", "refund", "fire", "launch")


def script_source(name: str) -> str:
    """The full text of script ``name``: the shared library, then the script."""
    folder = resources.files("streams.ledger") / "lua"
    library = (folder / "lib.lua").read_text(encoding="utf-8")
    own = (folder / f"{name}.lua").read_text(encoding="utf-8")
    return f"{library}\n-- ==== {name}.lua ====\n{own}"


@dataclass(frozen=True, slots=True)
class Scripts:
    """The registered scripts of one client."""

    accrue: AsyncScript
    grant: AsyncScript
    redeem: AsyncScript
    refund: AsyncScript
    fire: AsyncScript
    launch: AsyncScript

    @classmethod
    def register(cls, client: AsyncClient) -> Scripts:
        """Register every script with ``client`` (no network)."""
        return cls(**{name: client.register_script(script_source(name)) for name in SCRIPT_NAMES})

    async def load(self, client: AsyncClient) -> None:
        """SCRIPT LOAD each script now, so a syntax error shows at start, not on first use."""
        for name in SCRIPT_NAMES:
            script: AsyncScript = getattr(self, name)
            await client.script_load(script.script)
