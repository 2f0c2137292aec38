"""HL7 v2 over MLLP: REF, SIU and ADT messages in (each kept raw and committed before it is
acknowledged), RRI status and MDM/ORU reports out to partners that want them."""
