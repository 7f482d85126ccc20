"""How a request's document is run: everything that touches graphql-core's or Strawberry's
internals lives here, and nowhere else (a test holds the line).

- `limits`: the query limits, a validation rule measured once per document;
- `planned`: the planned executor (and `GuardedExecutor`, graphql-core's own with the
  object-level read check), `CCGRAPH_PLANNED_EXECUTION` chooses;
- `prefetch`: a users page loads what its nodes select, one statement per relation;
- `operations`: whether a request is a mutation, read before it runs (idempotency keys)."""
