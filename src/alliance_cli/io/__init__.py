"""Readers and writers at the edges of the library (files, streams, CSV)."""
