"""How production stores the collected static files.

WhiteNoise's compressed manifest storage names every file after a hash of its content, so
browsers may cache it for good. The pages' scripts are ES modules that import each other
(``./uploads.js``); Django only rewrites those import paths to the hashed names when asked
to. Without it, a page from a new release could load a hashed ``vault.js`` that imports a
cached ``uploads.js`` from the release before.
"""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class StaticFilesStorage(CompressedManifestStaticFilesStorage):
    support_js_module_import_aggregation = True
