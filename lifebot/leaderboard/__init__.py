"""The static leaderboard site built from validated submissions (:mod:`.build`)."""
