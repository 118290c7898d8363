"""Readers: turn export files into plain Python values."""
