"""The orchestration on top of the stages: the batch pipeline, rebuild, scheduler,
runtime and the `genius-wh` command."""
