"""The base class of errors whose message is meant for the person using the app."""


class StepError(RuntimeError):
    """A step failed for a reason a person can act on; the message is shown as the step's error."""
