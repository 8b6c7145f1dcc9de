"""policyeng: pick an LLM from a provider's catalog with a declarative policy.

    import policyeng
    sel = policyeng.select("supports tool_use and healthy order by output_per_mtok")
    sel.model_name, sel.endpoint
"""

from .catalog import Catalog, load_catalog
from .engine import Policy, Selection, compile, select
from .errors import CatalogError, CatalogWarning, Error, NoMatch, PolicyError, PolicyFileError
from .policyfile import PolicyBook, load_policies

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
