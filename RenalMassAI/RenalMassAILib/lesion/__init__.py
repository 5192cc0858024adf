"""Label maps, tumour components and their measurements."""
