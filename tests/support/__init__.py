"""Helpers shared by the test suites, one job per module.

- `worlds`: small seeded simulator worlds, and `quick_run` (one run of the pipeline);
- `cli`: the `dcs-restores` command in a child process (`cli_env`, `run_cli`, `start_cli`),
  through `crashrun`, the test-only harness that can SIGKILL it at a named point;
- `truth`: ground truth and cursor checks (`assert_matches_truth`, `truth_for`, `cursors`);
- `leaks`: the secret scanner (`secret_leaks`);
- `demo`: the demo database with its views' clock pinned (`pinned_copy`), and its at-risk
  instances (`demo_at_risk`);
- `signed`: one AK/SK-signed request to a running simulator (`call`).
"""
