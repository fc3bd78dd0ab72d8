"""Errors the domain and its ports speak."""


class SetupError(Exception):
    """A problem the user can fix (config, model path, data file); the message names the fix."""


class ReplyUnavailable(Exception):
    """The reply generator could not answer now (down, overloaded, too slow); try again later."""
