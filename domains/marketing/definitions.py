from pathlib import Path

from domains.marketing import transforms
from mesh_platform.product import domain_definitions

defs = domain_definitions(Path(__file__).parent, transforms)
