"""Every metric, defined once, each with its definition written beside the code (DESIGN.md,
Metrics). A metric is a function of a fact frame (analytics.facts.FACT_SCHEMA) and a Scope; it
returns plain dataclasses that pages, the PDF and `refloop audit` render. Django-free: the audit
command runs these without a server or a database."""
