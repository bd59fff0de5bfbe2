"""Python helpers of rbm-billing: input checks, dbt invocation, report export and summary.
Billing rules live in the dbt models, never here."""
