"""A results folder: its layout, records (versioned, atomic), the one-writer lock, the --force
ledger, and the tables derived from the records."""
