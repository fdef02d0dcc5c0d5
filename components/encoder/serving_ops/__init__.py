"""Op lists of stock TF Serving 2.16, for checking exported SavedModels."""
