"""Operating the mesh: freshness alerts, and (from here on) the signals operators watch."""
