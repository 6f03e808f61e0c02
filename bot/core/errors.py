"""The two kinds of failure: a UserError is one sentence for the asker; anything else is a bug."""


class UserError(Exception):
    """Bad input or a refused request; `str(error)` is the one sentence the asker sees."""

    outcome = "rejected"

    def __init__(self, sentence: str) -> None:
        super().__init__(sentence)
        self.sentence = sentence


class PermissionDenied(UserError):
    """The asker may not do this; audited and answered privately."""

    outcome = "denied"
