"""The Powertools logger, tracer and metrics this package shares.

Tracing patches botocore only (the Service Catalog and DynamoDB calls), not every module X-Ray knows.
"""

import logging

from aws_lambda_powertools import Logger, Metrics, Tracer

SERVICE_NAME = "engine-result-notifier"
METRICS_NAMESPACE = "EngineResultNotifier"

logger = Logger(service=SERVICE_NAME)
tracer = Tracer(service=SERVICE_NAME, patch_modules=("botocore",))
metrics = Metrics(namespace=METRICS_NAMESPACE, service=SERVICE_NAME)

# botocore's DEBUG records print every request body, and the notify request holds the workflow token:
# whatever level the runtime gives the root logger (AWS_LAMBDA_LOG_LEVEL=DEBUG included), they stay off.
logging.getLogger("botocore").setLevel(logging.INFO)
