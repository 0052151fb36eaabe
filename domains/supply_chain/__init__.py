"""The supply chain domain (team:supply-chain): suppliers, parts and deliveries."""
