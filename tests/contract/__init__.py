"""The store contract suite: written once against :class:`sidequest.stores.base.Store`, run on every store."""
