"""The users domain of the GraphQL layer: types, inputs, nested user connections."""
