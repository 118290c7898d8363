"""Tests of funnelcli.readers: one file per reader (readers/X.py -> tests/readers/test_X.py)."""
