"""funnelcli: plan a sales funnel backwards from a revenue target, report on CRM exports."""

__version__ = "0.1.0"
