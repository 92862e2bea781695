"""Errors that several layers raise, in a module of their own that any layer may import."""


class ConfigError(ValueError):
    """A bad config value; the message is one line naming the key."""
