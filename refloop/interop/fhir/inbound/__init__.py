"""FHIR writes coming in: parse and validate what a client sent (R4B models, JSON or XML), resolve
the references inside a Bundle, map a ServiceRequest to a ReferralSubmission, and hand it to
referral_receive (DESIGN.md "One way in"). Nothing here decides about referrals."""
