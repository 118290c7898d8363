"""Tests of funnelcli.render: the views and each format's writer, read back and compared with the JSON."""
