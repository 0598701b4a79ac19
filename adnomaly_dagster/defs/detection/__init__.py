"""The detector's model of normal traffic and the evaluation of the stored model."""
