"""The ``zabkeeper`` command line."""
