"""Business rules and use cases. Knows SQLAlchemy; knows nothing of GraphQL."""
