"""Sources: what a domain's operational systems provide, declared in YAML, observed and read by kind."""

from mesh_platform.sources.loader import SOURCES_FILE, SourceError, load_domain_sources, parse_sources
from mesh_platform.sources.model import Freshness, Source

__all__ = ["SOURCES_FILE", "Freshness", "Source", "SourceError", "load_domain_sources", "parse_sources"]
