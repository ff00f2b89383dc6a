"""Fine-tuning on the device: training data checks, the trainer's worker process and its jobs."""
