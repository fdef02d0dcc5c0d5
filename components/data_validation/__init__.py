"""The data validation gate: stops a run whose data breaks the schema, and leaves HTML a person can read."""
