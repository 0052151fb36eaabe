from pathlib import Path

from mesh_platform.product import domain_definitions

defs = domain_definitions(Path(__file__).parent)  # contracts/ and transforms.py of this folder
