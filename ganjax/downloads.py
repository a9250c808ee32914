"""Weights files fetched once into the cache (``$GANJAX_CACHE_DIR``, or ~/.cache/ganjax)
and checked against their SHA-256 before they are kept or used."""
import hashlib
import urllib.error
import urllib.request

from etils import epath

from ganjax import errors
from ganjax.reporting import files


class WeightsUnavailableError(errors.UserError, OSError):
    """Weights are neither cached nor downloadable here, or not the expected file."""


def cached(url: str, folder: str, sha256: str) -> bytes:
    """The bytes of ``url``'s file from ``cache_dir()/folder/<its name>``, downloaded
    there first if missing (where there is internet).

    Args:
      url: the file's canonical address.
      folder: the cache's subfolder, e.g. 'inception'.
      sha256: the file's hex SHA-256, or its prefix where only that is known (torch.hub's
        file names carry 8 hex digits); a file that does not match is neither kept nor
        used.

    Raises:
      WeightsUnavailableError: not cached and not downloadable (the message says where to
        put the file), or not the expected file.
    """
    path = files.cache_dir() / folder / url.rsplit('/', 1)[-1]
    downloaded = not path.exists()
    if downloaded:
        try:
            with urllib.request.urlopen(url, timeout=60) as response:
                data = response.read()
        except (urllib.error.URLError, OSError) as e:
            raise WeightsUnavailableError(
                f'{path.name} is not in the cache and cannot be downloaded ({e}): download '
                f'{url} where there is internet and put it at {path} (or pass its path)'
            ) from e
    else:
        data = path.read_bytes()
    check(data, sha256, url if downloaded else path)
    if downloaded:
        with files.replacing(path) as partial:
            epath.Path(partial).write_bytes(data)
    return data


def check(data: bytes, sha256: str, name) -> None:
    """Raises ``WeightsUnavailableError`` unless ``data``'s SHA-256 starts with ``sha256``."""
    digest = hashlib.sha256(data).hexdigest()
    if not digest.startswith(sha256):
        raise WeightsUnavailableError(f'{name} has SHA-256 {digest}, which does not start '
                                      f'with {sha256}: not the expected weights')
