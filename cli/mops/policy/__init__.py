"""Policy packs, the rule vocabulary, and evaluation (pure: snapshot + clock in, results out)."""
