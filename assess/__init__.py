"""assess: innovation-capacity assessment of enterprise filings for Shandong's flagship industrial chains."""

__version__ = "0.1.0"
