"""Configuration: raw models, located loading, validation, JSON Schema export."""
