"""`adnomaly bench`: each figure measured next to its limit in the same run."""
