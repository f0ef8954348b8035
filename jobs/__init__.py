"""Fine-tuning jobs on the provisioned Azure ML platform (see docs/jobs.md)."""
