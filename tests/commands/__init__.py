"""Tests of the commands (cli.py, commands/*.py) through typer's CliRunner or a real process."""
