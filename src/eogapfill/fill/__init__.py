"""Gap-filling methods, all with the signature ``fill_xxx(sst, gaps=None, **options) -> Dataset``."""
