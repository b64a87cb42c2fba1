"""The one error of the library API that is not a store's, a pack's or a resource's: input not usable as given."""


class InputError(ValueError):
    """Input that cannot be used as given (an unknown city or rule, a file of the wrong kind); the message is
    Chinese. The command line exits with status 2 on it, as on a usage error."""
