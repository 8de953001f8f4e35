"""Workers namespaced by a subdirectory, as the recipe's naming convention allows."""
