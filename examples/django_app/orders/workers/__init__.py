"""The orders app's workers, one per module (the recipe's app/workers/ convention)."""
