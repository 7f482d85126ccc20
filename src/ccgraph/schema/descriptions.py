"""Description texts that inputs of several domains share (a leaf module: anything may import it)."""

VALIDATE = "Check everything; write nothing."
UPDATE = "Change only what is given; `version` must be the one last read."
VERSION = "The version last read; a stale one is a CONFLICT and nothing is applied."
