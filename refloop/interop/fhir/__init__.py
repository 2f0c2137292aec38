"""FHIR R4 API under /fhir/R4/ (application/fhir+json): referrals in as ServiceRequests (transaction
or BSeR message Bundles), our workflow out as Tasks, the report back as a DocumentReference with a
Communication. Validation with fhir.resources' R4B models."""
