"""The zabkeeper client: a trio client for ZooKeeper-protocol servers, and recipes."""
