"""The zabkeeper server: the trio shell around the znode and ZAB cores."""
