"""Thin resolvers: parse the arguments, call a service, shape the payload."""
