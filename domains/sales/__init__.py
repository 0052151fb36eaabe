"""The sales domain (team:sales): orders and the customer value derived from them."""
