"""``python -m funnelcli`` behaves as ``funnel``."""

from funnelcli.cli import main

if __name__ == "__main__":
    main()
