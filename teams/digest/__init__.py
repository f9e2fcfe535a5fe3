"""The weekly learning digest: who gets it and when, what it says, and how it is sent exactly once."""
