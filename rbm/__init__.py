"""Python helpers of rbm-billing: input checks, dbt invocation, report export and summary.
Billing rules live in the dbt models, never here."""

import sys


def warn(message: str) -> None:
    """A `warning:` line: on stderr, as every warning of a run (README "Two commands"); the summary is on stdout."""
    print(f"warning: {message}", file=sys.stderr)
