"""estatecrm: a CRM for real-estate brokerage offices."""
