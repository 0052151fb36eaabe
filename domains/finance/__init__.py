"""The finance domain (team:finance): billed revenue and the TPC-H pricing summary."""
