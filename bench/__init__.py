"""``make bench``: the notifier measured side by side with a bare-boto3 baseline, in the same run."""
