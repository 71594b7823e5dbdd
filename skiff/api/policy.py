"""policy/v1: Eviction, the body of POST pods/NAME/eviction."""

from __future__ import annotations

from .meta import DeleteOptions, Object


class Eviction(Object):
    KIND = "Eviction"
    API_VERSION = "policy/v1"

    delete_options: DeleteOptions | None = None
