import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parent.parent


def test_checked_in_schema_matches_export_schema():
    printed = subprocess.run(
        [sys.executable, "-m", "ccgraph", "export-schema"], capture_output=True, text=True, check=True
    ).stdout
    assert (ROOT / "schema.graphql").read_text() == printed, "run `make schema` and commit schema.graphql"
