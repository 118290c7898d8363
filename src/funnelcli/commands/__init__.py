"""One module per command, ``funnelcli.commands.NAME`` with the function ``NAME``.

``cli.py`` imports a command's module only when that command runs or shows its help, so
each module imports at its top only what every run of the command needs.
"""
