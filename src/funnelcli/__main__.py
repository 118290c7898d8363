"""``python -m funnelcli`` behaves as ``funnel``."""

from funnelcli.entry import main

if __name__ == "__main__":
    main()
