"""vehsim_pipelines: Spark jobs that land vehsim events in Delta (Bronze) and refine them (Silver, Gold)."""
