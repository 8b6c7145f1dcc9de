"""policyeng: pick an LLM from a provider's catalog with a declarative policy.

    import policyeng
    sel = policyeng.select("supports tool_use and healthy order by output_per_mtok")
    sel.model_name, sel.endpoint
"""

from .catalog import Catalog, load_catalog
from .engine import Policy, Selection, compile, select
from .errors import CatalogError, CatalogWarning, Error, NoMatch, PolicyError, PolicyFileError

__all__ = [
    "Catalog",
    "CatalogError",
    "CatalogWarning",
    "Error",
    "NoMatch",
    "Policy",
    "PolicyBook",
    "PolicyError",
    "PolicyFileError",
    "Selection",
    "compile",
    "load_catalog",
    "load_policies",
    "select",
]
__version__ = "0.1.0"


def __getattr__(name: str):
    # Policy files (and YAML) load only when asked for: `policyeng select` never needs them.
    if name in ("PolicyBook", "load_policies"):
        from . import policyfile

        return getattr(policyfile, name)
    raise AttributeError(f"module 'policyeng' has no attribute {name!r}")
