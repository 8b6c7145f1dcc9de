"""Catalogs: sources, HTTP, the response cache, validation, and the entry model.

``load_catalog`` (in ``sources``) is the entry point; ``Catalog`` (in
``model``) is what every later stage reads.
"""

from .model import Catalog
from .sources import load_catalog

__all__ = ["Catalog", "load_catalog"]
