"""tuidash: a terminal ML dashboard for people who train models over SSH."""

__version__ = "0.1.0"
