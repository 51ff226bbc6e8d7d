"""Uploading through the chunked API as the dashboard does: start, then PATCH chunk after chunk."""

from __future__ import annotations

from typing import Any


def start_upload(client, size: int, filename: str, **options: Any):
    return client.post("/api/uploads", json={"filename": filename, "size": size, **options})


def send_chunks(client, upload_id: str, data: bytes, offset: int = 0, chunk_bytes: int | None = None):
    """PATCH the bytes from `offset` on; returns the last response (201 with the video when complete)."""
    response = None
    step = chunk_bytes or 2**20
    while offset < len(data) or response is None:
        chunk = data[offset : offset + step]
        response = client.patch(
            f"/api/uploads/{upload_id}",
            data=chunk,
            headers={"Upload-Offset": str(offset)},
            content_type="application/offset+octet-stream",
        )
        if response.status_code != 200:
            return response
        offset = response.get_json()["offset"]
    return response


def upload(client, data: bytes, filename: str, chunk_bytes: int | None = None, **options: Any):
    """The whole upload; the response of the start when it is refused, else of the last chunk."""
    started = start_upload(client, len(data), filename, **options)
    if started.status_code != 201:
        return started
    return send_chunks(client, started.get_json()["id"], data, 0, chunk_bytes)
