"""The collection server (``kvpspec serve``, ``kvpspec fieldwork``): storage,
submissions, case management and the pages that serve the compiled form."""
