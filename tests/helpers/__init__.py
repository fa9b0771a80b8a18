"""What several test modules share: paths, subprocess runners, models, servers and fakes."""
