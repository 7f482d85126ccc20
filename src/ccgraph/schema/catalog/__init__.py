"""The catalog domain of the GraphQL layer: the named objects and their inputs."""
