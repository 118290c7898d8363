"""Tests of funnelcli.readers.tabular: CSV and XLSX files into a header and rows."""
