"""The self-serve platform of the mesh: everything a domain team reuses, nothing domain-specific."""
