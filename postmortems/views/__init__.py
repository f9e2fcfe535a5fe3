"""Pages of the post-mortems app."""
