"""Upload limits, with small limits set for the test."""

import pytest

from tests.test_bulk import csv_bytes, setup, upload


@pytest.fixture
def settings(settings):
    return settings.with_(max_upload_bytes=2000, max_import_rows=20)


async def test_oversize_and_too_many_rows(admin_api, db):
    await setup(db)
    big = await upload(admin_api, b"username\n" + b"x" * 3000)
    assert big["userErrors"][0]["code"] == "TOO_LARGE"
    many = await upload(admin_api, csv_bytes([["username"], *[[f"u{i}"] for i in range(21)]]))
    assert many["userErrors"][0]["code"] == "TOO_MANY_ROWS"
