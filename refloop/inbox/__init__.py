"""The document inbox: faxes and e-mails as they arrive, unfiled until a coordinator splits them
into parts and files each part to a new referral or to an existing referral's checklist item."""
