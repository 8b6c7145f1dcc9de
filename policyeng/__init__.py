"""policyeng: pick an LLM from a provider's catalog with a declarative policy.

import policyeng
sel = policyeng.select("supports tool_use and healthy order by output_per_mtok")
sel.model_name, sel.endpoint
"""

from ._version import __version__ as __version__
from .catalog.model import Catalog
from .catalog.sources import load_catalog
from .engine import Policy, Selection, compile, select
from .errors import CatalogError, CatalogWarning, Error, NoMatch, PolicyError, PolicyFileError

__all__ = [
    "Catalog",
    "CatalogError",
    "CatalogWarning",
    "Error",
    "FetchSettings",
    "NoMatch",
    "Policy",
    "PolicyBook",
    "PolicyError",
    "PolicyFileError",
    "Resolver",
    "Selection",
    "compile",
    "load_catalog",
    "load_policies",
    "select",
]


def __getattr__(name: str):
    # Policy files (and YAML) load only when asked for: `policyeng select` never needs them.
    if name in ("PolicyBook", "load_policies"):
        from .policies import book

        return getattr(book, name)
    if name == "FetchSettings":  # only URL sources need it (and httpx behind it)
        from .catalog.http import FetchSettings

        return FetchSettings
    if name == "Resolver":  # threads and breakers only for a long-running service
        from .runtime.resolver import Resolver

        return Resolver
    raise AttributeError(f"module 'policyeng' has no attribute {name!r}")
