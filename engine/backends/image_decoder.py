"""Images are decoded and checked by Pillow before any model sees them.

png, jpeg, webp, gif (first frame), bmp and tiff; EXIF orientation applied; a pixel-count cap
against decompression bombs; anything corrupt, truncated, empty or not an image is refused.
"""

from __future__ import annotations

import io
import warnings

from engine.errors import InvalidInput

FORMATS = frozenset({"PNG", "JPEG", "WEBP", "GIF", "BMP", "TIFF", "MPO"})


def _bad(message: str, code: str = "invalid_image") -> InvalidInput:
    return InvalidInput(message, param="file", code=code)


def load_image(data: bytes, max_pixels: int) -> object:
    """A checked RGB PIL image; raises InvalidInput for anything else."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if not data:
        raise _bad("The image is empty.", "empty_file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            probe = Image.open(io.BytesIO(data))
            if probe.format not in FORMATS:
                raise _bad("Send png, jpeg, webp, gif, bmp or tiff.")
            width, height = probe.size
            if width * height > max_pixels:
                raise _bad(
                    f"The image has {width}x{height} pixels; the limit is {max_pixels:,}.",
                    "image_too_large",
                )
            probe.verify()  # structure check; the object cannot be used after this
            opened = Image.open(io.BytesIO(data))
            opened.seek(0)  # the first frame of an animation
            opened.load()
            upright = ImageOps.exif_transpose(opened) or opened
            return upright.convert("RGB")
    except InvalidInput:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise _bad("The image is too large to decode safely.", "image_too_large") from exc
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, EOFError) as exc:
        raise _bad(
            "The file is not a readable image (damaged, truncated or another format)."
        ) from exc


def scale_to(image: object, max_side: int) -> object:
    """Shrink (never enlarge) so the longer side is at most `max_side`."""
    from PIL import Image

    assert isinstance(image, Image.Image)
    if max(image.size) <= max_side:
        return image
    copy = image.copy()
    copy.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    return copy
