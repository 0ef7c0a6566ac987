"""Leaderboard submissions: made from a run (:mod:`.make`), checked claim by claim (:mod:`.validate`), and
re-measured from their checkpoints (:mod:`.verify`). The published format is ``schema/submission-1.json``."""
