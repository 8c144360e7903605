"""Report the end of an external provisioning engine's workflow to AWS Service Catalog, exactly once."""
