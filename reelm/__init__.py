"""Reelm: a self-hostable short-video social network."""

__version__ = "0.1.0"
