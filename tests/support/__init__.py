"""Helpers shared by the tests and the bench scripts: media and speech makers, real processes,
a live server, an upload client, and the test credentials. Nothing here is a test."""
