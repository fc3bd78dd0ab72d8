"""Errors the domain and its ports speak."""


class SetupError(Exception):
    """A problem the user can fix (config, model path, data file); the message names the fix."""


class ReplyUnavailable(Exception):
    """The reply generator could not answer now (down, overloaded, too slow); try again later."""


class GeneratorBusy(ReplyUnavailable):
    """Too many replies are already waiting; ask again after `retry_after_s` seconds."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DeliveryFailed(Exception):
    """A reply could not be delivered now (network, flood limits); trying again later may work."""

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StorageUnavailable(Exception):
    """The store could not read or write now (file locked by another process, disk full,
    damaged)."""


class PromptTooLong(ReplyUnavailable):
    """Not even the shortest prompt fits beside a reply of `max_new_tokens` in the model's
    positions."""

    def __init__(self, max_new_tokens: int, context_length: int) -> None:
        super().__init__(
            f"a reply of {max_new_tokens} tokens leaves no room for a prompt in the model's "
            f"{context_length} positions"
        )
        self.max_new_tokens = max_new_tokens
        self.context_length = context_length
