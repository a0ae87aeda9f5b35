"""The seeded synthetic sample corpus in the Pile's layout."""
