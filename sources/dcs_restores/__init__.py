"""dlt source for DCS restore records."""
