"""FOUNDATION PLACEHOLDER: helper "loader" writes the move-in job (one pipeline run per phase) and its revert."""
