"""`refloop audit FILE`: the program's metrics from another system's export, with no server and
no database (issue 5, "Audit command for any export").

reading.py reads the file (CSV, Excel or Parquet) as text, mapping.py says what its columns and
values mean, milestones.py turns it into the fact builder's milestone frame (bad rows quarantined
with their reasons, never dropped in silence), cli.py prints the headline and writes the monthly
review. Nothing here imports Django's database layer.
"""


class AuditError(Exception):
    """A problem with the file or the mapping the user can fix; printed without a traceback."""
