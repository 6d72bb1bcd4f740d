"""The project's version, read by packaging and by ``zabkeeper --version``."""

__version__ = "0.1.0"
