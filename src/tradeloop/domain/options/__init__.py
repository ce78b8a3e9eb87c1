"""Index options: expiries, strike selection and pricing."""
