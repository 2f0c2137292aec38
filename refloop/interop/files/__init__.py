"""Files: referrals imported from CSV and Excel exports of other systems (a saved column and value
mapping per source, bad rows quarantined for correction, resumable, never twice), and referrals,
events and metrics exported as CSV, Excel and Parquet within the user's role."""
