"""Tests of the whole program: real processes, exit codes, start-up, the layer table, the README, a browser, faults."""
