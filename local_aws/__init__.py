"""Local stand-ins for the AWS services the notifier uses, and a Docker-free ``sam local invoke``.

Used by the tests, by ``make invoke`` and by ``make bench``; never deployed.
"""
