"""vehsim_experiments: MLflow experiments on Gold features (fuel consumption and wear models)."""
