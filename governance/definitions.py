"""The governance code location of this mesh: the council's view over every domain's products."""

from mesh_platform.governance.location import governance_definitions

defs = governance_definitions()
